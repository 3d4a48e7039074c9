/**
 * IPv6 address text: strict RFC 4291 section 2.2 input, RFC 5952 output. Input is read with the
 * rules of glibc's inet_pton (what Miredo's numeric getaddrinfo applies): up to eight groups of
 * 1-4 hex digits, one `::` standing for at least one zero group, an optional trailing dotted
 * quad. No zone suffixes (`%eth0`), no surrounding brackets.
 */
import { formatIPv4, parseIPv4 } from './ipv4.js';

const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;
/** "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255" */
const MAX_TEXT_LENGTH = 45;

/** Appends the 16-bit groups of one side of `::` to `groups`; false if malformed. */
function pushGroups(side: string, dottedTailAllowed: boolean, groups: number[]): boolean {
  if (side === '') return true;
  const parts = side.split(':');
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (HEX_GROUP.test(part)) {
      groups.push(parseInt(part, 16));
    } else if (dottedTailAllowed && i === parts.length - 1) {
      const ipv4 = parseIPv4(part);
      if (ipv4 === null) return false;
      groups.push(ipv4 >>> 16, ipv4 & 0xffff);
    } else {
      return false;
    }
  }
  return true;
}

/** Writes the address `text` stands for into out[offset..offset+16); false (out untouched) if invalid. */
export function parseIPv6Into(text: string, out: Uint8Array, offset = 0): boolean {
  if (text.length < 2 || text.length > MAX_TEXT_LENGTH || offset < 0 || offset + 16 > out.length)
    return false;
  const gap = text.indexOf('::');
  const compressed = gap !== -1;
  if (compressed && text.indexOf('::', gap + 1) !== -1) return false;

  const head: number[] = [];
  const tail: number[] = [];
  if (compressed) {
    if (!pushGroups(text.slice(0, gap), false, head)) return false;
    if (!pushGroups(text.slice(gap + 2), true, tail)) return false;
    if (head.length + tail.length > 7) return false;
  } else {
    if (!pushGroups(text, true, head) || head.length !== 8) return false;
  }

  out.fill(0, offset, offset + 16);
  head.forEach((group, i) => {
    out[offset + 2 * i] = group >>> 8;
    out[offset + 2 * i + 1] = group & 0xff;
  });
  const tailStart = 8 - tail.length;
  tail.forEach((group, i) => {
    out[offset + 2 * (tailStart + i)] = group >>> 8;
    out[offset + 2 * (tailStart + i) + 1] = group & 0xff;
  });
  return true;
}

/** The 16 bytes of `text`, or null when it is not an IPv6 address. */
export function parseIPv6(text: string): Uint8Array | null {
  const out = new Uint8Array(16);
  return parseIPv6Into(text, out) ? out : null;
}

/**
 * RFC 5952 text of the 16 bytes at `offset`: lower case, no leading zeros, the longest run
 * (the first on a tie) of two or more zero groups as `::`, IPv4-mapped addresses as ::ffff:a.b.c.d.
 */
export function formatIPv6(bytes: Uint8Array, offset = 0): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++)
    groups.push(((bytes[offset + 2 * i] ?? 0) << 8) | (bytes[offset + 2 * i + 1] ?? 0));

  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${formatIPv4(((groups[6]! << 16) | groups[7]!) >>> 0)}`;
  }

  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    let end = i;
    while (end < 8 && groups[end] === 0) end++;
    if (end - i > bestLength) {
      bestStart = i;
      bestLength = end - i;
    }
    i = end === i ? i + 1 : end;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart === -1) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}
