/**
 * NAT-PMP (RFC 6886) as a sans-I/O codec: the UDP MAP request for our Teredo port and the
 * external address request, and their answers judged with explicit length, version, opcode and
 * port checks (sections 3.2 and 3.3). A lifetime of 0 deletes the mapping (section 3.4).
 */
import { readU16, readU32, writeU16, writeU32 } from './bytes.js';
import { MAX_PORT_MAPPING_DATAGRAM } from './port-mapping.js';

const VERSION = 0;
const OP_EXTERNAL_ADDRESS = 0;
const OP_MAP_UDP = 1;
const REPLY = 128;
export const NATPMP_MAP_REQUEST_LENGTH = 12;
const MAP_REPLY_LENGTH = 16;
const ADDRESS_REPLY_LENGTH = 12;

export type NatPmpDrop =
  'too-short' | 'too-long' | 'bad-version' | 'not-a-reply' | 'wrong-port' | 'zero-port' | 'zero-lifetime';

export type NatPmpMapReply =
  | {
      readonly ok: true;
      readonly epoch: number;
      readonly externalPort: number;
      readonly lifetimeSeconds: number;
    }
  | { readonly ok: false; readonly reason: NatPmpDrop }
  /** A well-formed refusal: the server's result code (2 not authorized, 3 network failure, ...). */
  | { readonly ok: false; readonly reason: 'refused'; readonly resultCode: number; readonly epoch: number };

export type NatPmpAddressReply =
  | { readonly ok: true; readonly epoch: number; readonly externalIPv4: number }
  | { readonly ok: false; readonly reason: NatPmpDrop | 'refused'; readonly resultCode?: number };

export function natPmpMapRequest(
  internalPort: number,
  suggestedPort: number,
  lifetimeSeconds: number,
): Uint8Array {
  const request = new Uint8Array(NATPMP_MAP_REQUEST_LENGTH);
  request[0] = VERSION;
  request[1] = OP_MAP_UDP;
  writeU16(request, 4, internalPort);
  writeU16(request, 6, suggestedPort);
  writeU32(request, 8, lifetimeSeconds);
  return request;
}

export function natPmpAddressRequest(): Uint8Array {
  return Uint8Array.of(VERSION, OP_EXTERNAL_ADDRESS);
}

/** The header every answer shares: checks length, version and opcode; the result code is at 2. */
function header(reply: Uint8Array, opcode: number, length: number): NatPmpDrop | null {
  if (reply.length < 4) return 'too-short';
  if (reply.length > MAX_PORT_MAPPING_DATAGRAM) return 'too-long';
  if (reply[0] !== VERSION) return 'bad-version';
  if (reply[1] !== (REPLY | opcode)) return 'not-a-reply';
  // A refusal may be short (section 3.5 lets servers send the 8-byte header alone).
  if (readU16(reply, 2) === 0 && reply.length < length) return 'too-short';
  if (reply.length < 8) return 'too-short';
  return null;
}

/** Judges an answer to natPmpMapRequest(internalPort, ...); `deleting`: a lifetime of 0 was asked. */
export function parseNatPmpMapReply(
  reply: Uint8Array,
  internalPort: number,
  deleting = false,
): NatPmpMapReply {
  const drop = header(reply, OP_MAP_UDP, MAP_REPLY_LENGTH);
  if (drop !== null) return { ok: false, reason: drop };
  const resultCode = readU16(reply, 2);
  const epoch = readU32(reply, 4);
  if (resultCode !== 0) return { ok: false, reason: 'refused', resultCode, epoch };
  if (readU16(reply, 8) !== internalPort) return { ok: false, reason: 'wrong-port' };
  const externalPort = readU16(reply, 10);
  const lifetimeSeconds = readU32(reply, 12);
  if (!deleting && externalPort === 0) return { ok: false, reason: 'zero-port' };
  if (!deleting && lifetimeSeconds === 0) return { ok: false, reason: 'zero-lifetime' };
  return { ok: true, epoch, externalPort, lifetimeSeconds };
}

export function parseNatPmpAddressReply(reply: Uint8Array): NatPmpAddressReply {
  const drop = header(reply, OP_EXTERNAL_ADDRESS, ADDRESS_REPLY_LENGTH);
  if (drop !== null) return { ok: false, reason: drop };
  const resultCode = readU16(reply, 2);
  if (resultCode !== 0) return { ok: false, reason: 'refused', resultCode };
  return { ok: true, epoch: readU32(reply, 4), externalIPv4: readU32(reply, 8) };
}
