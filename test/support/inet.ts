/** Text ↔ bytes for IPv4/IPv6 addresses in tests (strict enough for literals we write ourselves). */

export function ipv4Bytes(text: string): Uint8Array {
  const parts = text.split('.');
  const bytes = parts.map(Number);
  if (parts.length !== 4 || bytes.some((b) => !Number.isInteger(b) || b < 0 || b > 255)) {
    throw new Error(`not an IPv4 address: ${text}`);
  }
  return Uint8Array.from(bytes);
}

/** The uint32 value of a dotted IPv4 address in network order (198.51.100.1 → 0xc6336401). */
export function ipv4Number(text: string): number {
  const b = ipv4Bytes(text);
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
}

export function ipv6Bytes(text: string): Uint8Array {
  const halves = text.split('::');
  if (halves.length > 2) throw new Error(`not an IPv6 address: ${text}`);
  const groups = (half: string | undefined): number[] =>
    half === undefined || half === '' ? [] : half.split(':').map((g) => Number.parseInt(g, 16));
  const head = groups(halves[0]);
  const tail = groups(halves[1]);
  const zeros = halves.length === 2 ? 8 - head.length - tail.length : 0;
  const all = [...head, ...new Array<number>(zeros).fill(0), ...tail];
  if (all.length !== 8 || all.some((g) => !Number.isInteger(g) || g < 0 || g > 0xffff)) {
    throw new Error(`not an IPv6 address: ${text}`);
  }
  const bytes = new Uint8Array(16);
  all.forEach((g, i) => {
    bytes[2 * i] = g >>> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return bytes;
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

export function fromHex(text: string): Uint8Array {
  return Uint8Array.from(Buffer.from(text.replace(/\s+/g, ''), 'hex'));
}
