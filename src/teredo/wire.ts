/**
 * The Teredo UDP payload (RFC 4380 section 5.1.1, reference section 4.3):
 *
 *   [Authentication] [Origin indication] IPv6 packet [trailer, ignored]
 *
 * Authentication: 00 01 | ID-len | AU-len | client ID | auth value | nonce (8) | confirmation (1)
 * Origin indication: 00 00 | ~port (2) | ~IPv4 (4)
 *
 * parseTeredoPayload() fills a caller-owned record and allocates nothing; it returns 'ok' or the
 * reason the datagram is dropped, and never throws. IPv6 header accessors are re-exported here.
 */
import { assertRoom, readU16, readU32, writeU16, writeU32 } from './bytes.js';
import { WIRE_SIZE } from './constants.js';
import { checkIPv6Packet, ipv6PacketLength } from './ipv6-header.js';
import type { IPv6DropReason } from './ipv6-header.js';

export * from './ipv6-header.js';

export type TeredoDropReason = 'too-short' | 'auth-truncated' | 'origin-truncated' | IPv6DropReason;
export const TEREDO_DROP_REASONS: readonly TeredoDropReason[] = Object.freeze([
  'too-short',
  'auth-truncated',
  'origin-truncated',
  'ipv6-truncated',
  'not-ipv6',
  'ipv6-payload-truncated',
]);

/**
 * Where the pieces of one datagram are. Offsets index the `bytes` given to the parser; fields
 * of an absent header are -1 (offsets) or 0 (values). Reuse one record per receive loop.
 */
export interface TeredoPayload {
  hasAuth: boolean;
  authIdLength: number;
  authIdOffset: number;
  authValueLength: number;
  authValueOffset: number;
  nonceOffset: number;
  /** Confirmation byte (non-zero: the server refused our credentials). */
  confirmation: number;
  hasOrigin: boolean;
  /** De-obfuscated origin UDP port and IPv4. */
  originPort: number;
  originIPv4: number;
  ipv6Offset: number;
  /** 40 + payload length: the bytes of the IPv6 packet proper. */
  ipv6Length: number;
  /** Bytes after the IPv6 packet (RFC 6081 trailers and the like), ignored. */
  trailerLength: number;
}

export function createTeredoPayload(): TeredoPayload {
  return {
    hasAuth: false,
    authIdLength: 0,
    authIdOffset: -1,
    authValueLength: 0,
    authValueOffset: -1,
    nonceOffset: -1,
    confirmation: 0,
    hasOrigin: false,
    originPort: 0,
    originIPv4: 0,
    ipv6Offset: -1,
    ipv6Length: 0,
    trailerLength: 0,
  };
}

function reset(out: TeredoPayload): void {
  out.hasAuth = false;
  out.authIdLength = 0;
  out.authIdOffset = -1;
  out.authValueLength = 0;
  out.authValueOffset = -1;
  out.nonceOffset = -1;
  out.confirmation = 0;
  out.hasOrigin = false;
  out.originPort = 0;
  out.originIPv4 = 0;
  out.ipv6Offset = -1;
  out.ipv6Length = 0;
  out.trailerLength = 0;
}

/**
 * Parses the datagram in bytes[start, start + length). A length beyond the buffer is cut to it.
 * On a drop reason `out` may be partly filled and must not be used.
 */
export function parseTeredoPayload(
  bytes: Uint8Array,
  length: number,
  out: TeredoPayload,
  start = 0,
): 'ok' | TeredoDropReason {
  reset(out);
  if (!Number.isInteger(start) || start < 0 || start > bytes.length) return 'too-short';
  const end = start + Math.max(0, Math.min(Math.trunc(length) || 0, bytes.length - start));
  let at = start;
  if (end - at < 2) return 'too-short';

  if (bytes[at] === 0 && bytes[at + 1] === 1) {
    if (end - at < WIRE_SIZE.authHeaderMin) return 'auth-truncated';
    const idLength = bytes[at + 2]!;
    const valueLength = bytes[at + 3]!;
    const authLength = WIRE_SIZE.authHeaderMin + idLength + valueLength;
    if (end - at < authLength) return 'auth-truncated';
    out.hasAuth = true;
    out.authIdLength = idLength;
    out.authIdOffset = at + 4;
    out.authValueLength = valueLength;
    out.authValueOffset = at + 4 + idLength;
    out.nonceOffset = at + 4 + idLength + valueLength;
    out.confirmation = bytes[out.nonceOffset + WIRE_SIZE.nonce]!;
    at += authLength;
  }

  if (end - at >= 2 && bytes[at] === 0 && bytes[at + 1] === 0) {
    if (end - at < WIRE_SIZE.originIndication) return 'origin-truncated';
    out.hasOrigin = true;
    out.originPort = ~readU16(bytes, at + 2) & 0xffff;
    out.originIPv4 = ~readU32(bytes, at + 4) >>> 0;
    at += WIRE_SIZE.originIndication;
  }

  const verdict = checkIPv6Packet(bytes, at, end - at);
  if (verdict !== 'ok') return verdict;
  out.ipv6Offset = at;
  out.ipv6Length = ipv6PacketLength(bytes, at);
  out.trailerLength = end - at - out.ipv6Length;
  return 'ok';
}

export interface AuthHeaderFields {
  /** 8 bytes. */
  readonly nonce: Uint8Array;
  readonly confirmation?: number;
  readonly clientId?: Uint8Array;
  readonly authValue?: Uint8Array;
}

export function authHeaderLength(fields: AuthHeaderFields): number {
  return WIRE_SIZE.authHeaderMin + (fields.clientId?.length ?? 0) + (fields.authValue?.length ?? 0);
}

/**
 * Writes an authentication header at `offset` and returns its length (13 with no client ID or
 * auth value, as Miredo always sends). Throws RangeError on a wrong nonce size, an ID or value
 * over 255 bytes, or a buffer too small.
 */
export function writeAuthHeader(out: Uint8Array, offset: number, fields: AuthHeaderFields): number {
  const clientId = fields.clientId ?? new Uint8Array(0);
  const authValue = fields.authValue ?? new Uint8Array(0);
  if (fields.nonce.length !== WIRE_SIZE.nonce) throw new RangeError('nonce must be 8 bytes');
  if (clientId.length > 255 || authValue.length > 255)
    throw new RangeError('client ID and auth value: at most 255 bytes');
  const length = authHeaderLength(fields);
  assertRoom(out, offset, length, 'authentication header');
  out[offset] = 0;
  out[offset + 1] = 1;
  out[offset + 2] = clientId.length;
  out[offset + 3] = authValue.length;
  out.set(clientId, offset + 4);
  out.set(authValue, offset + 4 + clientId.length);
  const nonceOffset = offset + 4 + clientId.length + authValue.length;
  out.set(fields.nonce, nonceOffset);
  out[nonceOffset + WIRE_SIZE.nonce] = fields.confirmation ?? 0;
  return length;
}

/** Writes an origin indication for (port, IPv4), obfuscating both, and returns 8. */
export function writeOriginIndication(out: Uint8Array, offset: number, port: number, ipv4: number): number {
  assertRoom(out, offset, WIRE_SIZE.originIndication, 'origin indication');
  out[offset] = 0;
  out[offset + 1] = 0;
  writeU16(out, offset + 2, ~port);
  writeU32(out, offset + 4, ~ipv4);
  return WIRE_SIZE.originIndication;
}
