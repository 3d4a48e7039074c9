/**
 * PCP (RFC 6887) as a sans-I/O codec: the MAP opcode for our Teredo UDP port (sections 7.1 and
 * 11.1) and its answer, checked field by field: length, version, R bit and opcode, the mapping
 * nonce (which ties an answer to our request, section 11.2), protocol and internal port, and an
 * IPv4-mapped external address. Options after the MAP payload are skipped unread. A version 0
 * answer means a NAT-PMP-only server (section 9): the caller falls back.
 */
import { bytesEqual, readU16, readU32, writeU16, writeU32 } from './bytes.js';
import { MAX_PORT_MAPPING_DATAGRAM } from './port-mapping.js';

const VERSION = 2;
const OP_MAP = 1;
const RESPONSE_BIT = 0x80;
const HEADER_LENGTH = 24;
const MAP_LENGTH = 36;
export const PCP_MAP_LENGTH = HEADER_LENGTH + MAP_LENGTH;
export const PCP_NONCE_LENGTH = 12;
const UDP = 17;
/** RFC 6887 section 7.4: UNSUPP_VERSION. */
export const PCP_UNSUPP_VERSION = 1;

export type PcpDrop =
  | 'too-short'
  | 'too-long'
  | 'not-a-reply'
  | 'wrong-nonce'
  | 'wrong-protocol'
  | 'wrong-port'
  | 'zero-port'
  | 'zero-lifetime'
  | 'not-ipv4';

export type PcpMapReply =
  | {
      readonly ok: true;
      readonly epoch: number;
      readonly externalIPv4: number;
      readonly externalPort: number;
      readonly lifetimeSeconds: number;
    }
  | { readonly ok: false; readonly reason: PcpDrop }
  /** A NAT-PMP server (version 0) or a PCP version we do not speak. */
  | { readonly ok: false; readonly reason: 'unsupported-version'; readonly version: number }
  | { readonly ok: false; readonly reason: 'refused'; readonly resultCode: number; readonly epoch: number };

export interface PcpMapRequest {
  readonly clientIPv4: number;
  readonly internalPort: number;
  readonly suggestedPort: number;
  readonly lifetimeSeconds: number;
  /** 12 random bytes, the same for every renewal and the deletion of one mapping. */
  readonly nonce: Uint8Array;
}

/** ::ffff:a.b.c.d at `offset` (RFC 6887 section 5). */
function writeMappedIPv4(bytes: Uint8Array, offset: number, ipv4: number): void {
  bytes[offset + 10] = 0xff;
  bytes[offset + 11] = 0xff;
  writeU32(bytes, offset + 12, ipv4);
}

function isMappedIPv4(bytes: Uint8Array, offset: number): boolean {
  for (let i = 0; i < 10; i += 1) if (bytes[offset + i] !== 0) return false;
  return bytes[offset + 10] === 0xff && bytes[offset + 11] === 0xff;
}

export function pcpMapRequest(request: PcpMapRequest): Uint8Array {
  if (request.nonce.length !== PCP_NONCE_LENGTH) throw new RangeError('a PCP nonce is 12 bytes');
  const bytes = new Uint8Array(PCP_MAP_LENGTH);
  bytes[0] = VERSION;
  bytes[1] = OP_MAP;
  writeU32(bytes, 4, request.lifetimeSeconds);
  writeMappedIPv4(bytes, 8, request.clientIPv4);
  bytes.set(request.nonce, HEADER_LENGTH);
  bytes[HEADER_LENGTH + 12] = UDP;
  writeU16(bytes, HEADER_LENGTH + 16, request.internalPort);
  writeU16(bytes, HEADER_LENGTH + 18, request.suggestedPort);
  // Suggested external address: the IPv4-mapped "any" (::ffff:0.0.0.0).
  writeMappedIPv4(bytes, HEADER_LENGTH + 20, 0);
  return bytes;
}

/** Judges an answer to pcpMapRequest(request); `deleting`: a lifetime of 0 was asked. */
export function parsePcpMapReply(reply: Uint8Array, request: PcpMapRequest, deleting = false): PcpMapReply {
  if (reply.length < 4) return { ok: false, reason: 'too-short' };
  if (reply.length > MAX_PORT_MAPPING_DATAGRAM) return { ok: false, reason: 'too-long' };
  const version = reply[0]!;
  if (version !== VERSION) return { ok: false, reason: 'unsupported-version', version };
  if (reply[1] !== (RESPONSE_BIT | OP_MAP)) return { ok: false, reason: 'not-a-reply' };
  if (reply.length < HEADER_LENGTH) return { ok: false, reason: 'too-short' };
  const resultCode = reply[3]!;
  const epoch = readU32(reply, 8);
  // An error answer carries the request's payload when it fits; it is a refusal either way.
  if (resultCode !== 0) return { ok: false, reason: 'refused', resultCode, epoch };
  if (reply.length < PCP_MAP_LENGTH) return { ok: false, reason: 'too-short' };
  if (!bytesEqual(reply, HEADER_LENGTH, request.nonce, 0, PCP_NONCE_LENGTH))
    return { ok: false, reason: 'wrong-nonce' };
  if (reply[HEADER_LENGTH + 12] !== UDP) return { ok: false, reason: 'wrong-protocol' };
  if (readU16(reply, HEADER_LENGTH + 16) !== request.internalPort) return { ok: false, reason: 'wrong-port' };
  const lifetimeSeconds = readU32(reply, 4);
  const externalPort = readU16(reply, HEADER_LENGTH + 18);
  if (!isMappedIPv4(reply, HEADER_LENGTH + 20)) return { ok: false, reason: 'not-ipv4' };
  if (!deleting && externalPort === 0) return { ok: false, reason: 'zero-port' };
  if (!deleting && lifetimeSeconds === 0) return { ok: false, reason: 'zero-lifetime' };
  return { ok: true, epoch, externalIPv4: readU32(reply, HEADER_LENGTH + 32), externalPort, lifetimeSeconds };
}
