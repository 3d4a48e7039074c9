/**
 * Classes of IPv6 addresses, tested on 16 bytes at an offset of a larger buffer (a packet)
 * without allocating. Offsets past the end read as zero bytes; callers bound-check first.
 */
import { bytesEqual } from './bytes.js';

export const IPV6_ADDRESS_BYTES = 16;

export function isMulticastIPv6At(bytes: Uint8Array, offset: number): boolean {
  return bytes[offset] === 0xff;
}

/** fe80::/10 */
export function isLinkLocalIPv6At(bytes: Uint8Array, offset: number): boolean {
  return bytes[offset] === 0xfe && (bytes[offset + 1]! & 0xc0) === 0x80;
}

export function isUnspecifiedIPv6At(bytes: Uint8Array, offset: number): boolean {
  for (let i = 0; i < 16; i++) if (bytes[offset + i] !== 0) return false;
  return true;
}

export function isLoopbackIPv6At(bytes: Uint8Array, offset: number): boolean {
  for (let i = 0; i < 15; i++) if (bytes[offset + i] !== 0) return false;
  return bytes[offset + 15] === 1;
}

/**
 * What a Teredo server may forward to: not unspecified, loopback, link-local or multicast
 * (unique-local and site-local count as global, as in Miredo).
 */
export function isForwardableIPv6At(bytes: Uint8Array, offset: number): boolean {
  return !(
    isUnspecifiedIPv6At(bytes, offset) ||
    isLoopbackIPv6At(bytes, offset) ||
    isLinkLocalIPv6At(bytes, offset) ||
    isMulticastIPv6At(bytes, offset)
  );
}

/** ff02::2, where Router Solicitations go. */
export function isAllRoutersMulticastAt(bytes: Uint8Array, offset: number): boolean {
  if (bytes[offset] !== 0xff || bytes[offset + 1] !== 0x02) return false;
  for (let i = 2; i < 15; i++) if (bytes[offset + i] !== 0) return false;
  return bytes[offset + 15] === 2;
}

export function writeAllRoutersMulticast(out: Uint8Array, offset: number): void {
  out.fill(0, offset, offset + 16);
  out[offset] = 0xff;
  out[offset + 1] = 0x02;
  out[offset + 15] = 0x02;
}

export function ipv6AddressesEqual(a: Uint8Array, aOffset: number, b: Uint8Array, bOffset: number): boolean {
  return bytesEqual(a, aOffset, b, bOffset, IPV6_ADDRESS_BYTES);
}
