/** IPv6 addresses as they travel in IPC messages: 32 hex digits or ordinary text. */
import { isIPv4, isIPv6 } from 'node:net';

function textToBytes(text: string): Uint8Array | null {
  if (!isIPv6(text) || text.includes('%')) return null;
  let head = text;
  const tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  const last = text.slice(lastColon + 1);
  if (isIPv4(last)) {
    const [a = 0, b = 0, c = 0, d = 0] = last.split('.').map(Number);
    tail.push((a << 8) | b, (c << 8) | d);
    head = text.slice(0, lastColon + 1);
    if (head.endsWith(':') && !head.endsWith('::')) head = head.slice(0, -1);
  }
  const halves = head.split('::');
  const groups = (part: string | undefined): number[] =>
    part === undefined || part === '' ? [] : part.split(':').map((g) => Number.parseInt(g, 16));
  const left = groups(halves[0]);
  const right = [...groups(halves[1]), ...tail];
  const zeros = halves.length === 2 ? 8 - left.length - right.length : 0;
  const all =
    halves.length === 2 ? [...left, ...new Array<number>(zeros).fill(0), ...right] : [...left, ...tail];
  if (all.length !== 8) return null;
  const bytes = new Uint8Array(16);
  all.forEach((group, i) => {
    bytes[2 * i] = group >>> 8;
    bytes[2 * i + 1] = group & 0xff;
  });
  return bytes;
}

/** Bytes of an address given as 32 hex digits or as IPv6 text; null when it is neither. */
export function parseIPv6(value: string): Uint8Array | null {
  if (/^[0-9a-fA-F]{32}$/.test(value)) return Uint8Array.from(Buffer.from(value, 'hex'));
  return textToBytes(value);
}

export function isIPv6Value(value: string): boolean {
  return parseIPv6(value) !== null;
}

/** RFC 5952 text (lower case, longest run of zero groups compressed). */
export function formatIPv6(bytes: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i += 1;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j += 1;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestLength < 2) return hex.join(':');
  const left = hex.slice(0, bestStart).join(':');
  const right = hex.slice(bestStart + bestLength).join(':');
  return `${left}::${right}`;
}

/** The 32-bit Teredo prefix as an address (2001:0:: for 0x20010000). */
export function prefixToBytes(prefix: number): Uint8Array {
  const bytes = new Uint8Array(16);
  bytes[0] = (prefix >>> 24) & 0xff;
  bytes[1] = (prefix >>> 16) & 0xff;
  bytes[2] = (prefix >>> 8) & 0xff;
  bytes[3] = prefix & 0xff;
  return bytes;
}
