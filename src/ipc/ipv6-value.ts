/** IPv6 addresses as they travel in IPC messages: 32 hex digits or ordinary text. */
import { parseIPv6 } from '../teredo/ipv6-text.js';

const HEX_ADDRESS = /^[0-9a-fA-F]{32}$/;

/** Bytes of an address given as 32 hex digits or as IPv6 text; null when it is neither. */
export function parseIPv6Value(value: string): Uint8Array | null {
  if (HEX_ADDRESS.test(value)) return Uint8Array.from(Buffer.from(value, 'hex'));
  return parseIPv6(value);
}

export function isIPv6Value(value: string): boolean {
  return parseIPv6Value(value) !== null;
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
