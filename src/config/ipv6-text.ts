/**
 * Textual IPv6 addresses with the rules of glibc's inet_pton (what Miredo's numeric
 * getaddrinfo applies): up to eight groups of 1-4 hex digits, one `::` standing for at least
 * one zero group, an optional trailing dotted quad (decimal, no leading zeros). Zone suffixes
 * (`%eth0`) are not addresses and are refused.
 */

const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;
const DECIMAL_OCTET = /^(0|[1-9][0-9]{0,2})$/;

/** Groups of one side of `::`; only the last side may end in a dotted quad. */
function parseGroups(text: string, dottedTailAllowed: boolean): number[] | null {
  if (text === '') return [];
  const parts = text.split(':');
  const groups: number[] = [];
  for (const [index, part] of parts.entries()) {
    if (dottedTailAllowed && index === parts.length - 1 && part.includes('.')) {
      const octets = part.split('.');
      if (octets.length !== 4 || !octets.every((o) => DECIMAL_OCTET.test(o) && Number(o) <= 255)) return null;
      const [a = 0, b = 0, c = 0, d = 0] = octets.map(Number);
      groups.push((a << 8) | b, (c << 8) | d);
    } else if (HEX_GROUP.test(part)) {
      groups.push(parseInt(part, 16));
    } else {
      return null;
    }
  }
  return groups;
}

/** The 16 bytes of `text`, or null when it is not an IPv6 address. */
export function parseIPv6(text: string): Uint8Array | null {
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const compressed = halves.length === 2;
  const head = parseGroups(halves[0] ?? '', !compressed);
  const tail = compressed ? parseGroups(halves[1] ?? '', true) : [];
  if (head === null || tail === null) return null;

  const count = head.length + tail.length;
  if (compressed ? count > 7 : count !== 8) return null;

  const groups = [...head, ...new Array<number>(8 - count).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  groups.forEach((group, i) => {
    bytes[2 * i] = group >>> 8;
    bytes[2 * i + 1] = group & 0xff;
  });
  return bytes;
}
