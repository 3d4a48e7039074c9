/**
 * Textual IPv4 addresses and host names as they appear in configuration files.
 * Only the strict dotted-quad form counts as a literal: `192.0.2.010` or `127.1` are handed to
 * the resolver like any name, which then reads them the way getaddrinfo (and so Miredo) does.
 */

const DECIMAL_OCTET = /^(0|[1-9][0-9]{0,2})$/;

/** `a.b.c.d` with decimal octets 0..255 and no leading zeros, as a uint32 (network order). */
export function parseDottedQuad(text: string): number | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let value = 0;
  for (const part of parts) {
    if (!DECIMAL_OCTET.test(part)) return null;
    const octet = Number(part);
    if (octet > 255) return null;
    value = value * 256 + octet;
  }
  return value;
}

export function formatDottedQuad(value: number): string {
  return [24, 16, 8, 0].map((shift) => (value >>> shift) & 0xff).join('.');
}

const LABEL = /^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;

/**
 * A name the resolver could look up: dot-separated labels of letters, digits, `-` and `_`
 * (not at a label's ends), at most 63 bytes each and 253 in all, with an optional final dot.
 */
export function isHostName(text: string): boolean {
  const name = text.endsWith('.') ? text.slice(0, -1) : text;
  if (name.length === 0 || name.length > 253) return false;
  return name.split('.').every((label) => LABEL.test(label));
}
