/**
 * Miredo's security tokens (reference section 4.5): RS nonces, bubble interface IDs, random
 * flag bits and direct-connectivity ping authenticators, all HMAC-MD5 under a per-process
 * 16-byte key. Only the node that made a token ever checks it, so the layouts matter for
 * matching Miredo's behaviour and test vectors, not for interoperability.
 *
 * Every token is HMAC(key, a ‖ b ‖ pid16 (big-endian) ‖ ts (4 bytes)). Miredo hashes `ts`
 * "as stored in memory": nonces and flag bits use a host-order integer, i.e. little-endian on
 * the x86/ARM hosts it runs on, while ping authenticators hash htonl(time()), i.e. big-endian.
 * These functions reproduce exactly that.
 *
 * IPv4 addresses are uint32 values of the network-order address (198.51.100.1 = 0xc6336401);
 * ports and timestamps are plain unsigned integers. Outputs are written into the caller's
 * buffer when one is given, else freshly allocated.
 */
import { SECURITY_KEY_BYTES, TEREDO_CONSTANTS, WIRE_SIZE } from './constants.js';
import { createHmacMd5, HMAC_MD5_BYTES } from './hmac-md5.js';
import type { HmacMd5 } from './hmac-md5.js';

/** The second half of an address: its interface ID. */
const BUBBLE_INTERFACE_ID_BYTES = 8;
/** Echo id (2) + sequence (2) + data (18): the whole ICMPv6 Echo body after type/code/checksum. */
export const PING_HASH_BYTES = 22;
/** A ping authenticator is accepted for delays 0..29 s (wall clock). */
const PING_HASH_LIFETIME_SECONDS = TEREDO_CONSTANTS.pingHashLifetimeMs / 1000;

export interface SecurityContext {
  readonly pid16: number;
  /** Internal: HMAC with the key pads already absorbed. */
  readonly hmac: HmacMd5;
  /** Internal: scratch for the hashed message (at most 16 + 16 + 2 + 4 bytes). */
  readonly message: Uint8Array;
  /** Internal: scratch for one HMAC output. */
  readonly digest: Uint8Array;
}

export type PingHashVerdict = 'valid' | 'wrong-length' | 'wrong-pid' | 'expired' | 'bad-hmac';

/**
 * Binds the HMAC key (16 random bytes: the daemon uses crypto.randomBytes) and the 16-bit
 * process tag that Miredo takes from getpid(). Throws on a malformed key or pid: that is a
 * programming error, not hostile input.
 */
export function createSecurityContext(key: Uint8Array, pid16: number): SecurityContext {
  if (key.length !== SECURITY_KEY_BYTES) {
    throw new RangeError(`security key must be ${SECURITY_KEY_BYTES} bytes, got ${key.length}`);
  }
  if (!Number.isInteger(pid16) || pid16 < 0 || pid16 > 0xffff) {
    throw new RangeError(`pid16 must be an integer in 0..65535, got ${pid16}`);
  }
  return {
    pid16,
    hmac: createHmacMd5(key),
    message: new Uint8Array(38),
    digest: new Uint8Array(HMAC_MD5_BYTES),
  };
}

function putU16(buf: Uint8Array, at: number, value: number): number {
  buf[at] = (value >>> 8) & 0xff;
  buf[at + 1] = value & 0xff;
  return at + 2;
}

function putU32BigEndian(buf: Uint8Array, at: number, value: number): number {
  buf[at] = (value >>> 24) & 0xff;
  buf[at + 1] = (value >>> 16) & 0xff;
  buf[at + 2] = (value >>> 8) & 0xff;
  buf[at + 3] = value & 0xff;
  return at + 4;
}

function putU32LittleEndian(buf: Uint8Array, at: number, value: number): number {
  buf[at] = value & 0xff;
  buf[at + 1] = (value >>> 8) & 0xff;
  buf[at + 2] = (value >>> 16) & 0xff;
  buf[at + 3] = (value >>> 24) & 0xff;
  return at + 4;
}

/** HMAC over the first `prefixLength` bytes of ctx.message ‖ pid16 ‖ ts into ctx.digest. */
function hashWithPidAndTime(
  ctx: SecurityContext,
  prefixLength: number,
  ts: number,
  tsLittleEndian: boolean,
  pidField: number = ctx.pid16,
): Uint8Array {
  const message = ctx.message;
  let at = putU16(message, prefixLength, pidField);
  at = tsLittleEndian ? putU32LittleEndian(message, at, ts) : putU32BigEndian(message, at, ts);
  return ctx.hmac.macInto(message.subarray(0, at), ctx.digest);
}

function mappingHash(ctx: SecurityContext, ts: number, ipv4: number, port: number): Uint8Array {
  const at = putU16(ctx.message, putU32BigEndian(ctx.message, 0, ipv4), port);
  return hashWithPidAndTime(ctx, at, ts, true);
}

/** 8-byte nonce for (ts, IPv4, port); the RS nonce uses ts = deadline seconds and (server, 3544). */
export function nonce(
  ctx: SecurityContext,
  ts: number,
  ipv4: number,
  port: number,
  out: Uint8Array = new Uint8Array(WIRE_SIZE.nonce),
  outOffset = 0,
): Uint8Array {
  out.set(mappingHash(ctx, ts, ipv4, port).subarray(0, WIRE_SIZE.nonce), outOffset);
  return out;
}

/**
 * Interface ID (address bytes 8..15) of the link-local source of bubbles we send towards the
 * peer mapped at (ipv4, port): nonce(0, ipv4, port) with the U/G bits of its first byte cleared.
 */
export function bubbleInterfaceId(
  ctx: SecurityContext,
  ipv4: number,
  port: number,
  out: Uint8Array = new Uint8Array(BUBBLE_INTERFACE_ID_BYTES),
  outOffset = 0,
): Uint8Array {
  const hash = mappingHash(ctx, 0, ipv4, port);
  out.set(hash.subarray(0, BUBBLE_INTERFACE_ID_BYTES), outOffset);
  out[outOffset] = hash[0]! & 0xfc;
  return out;
}

/**
 * Whether bytes 8..15 of `address16` are the interface ID we put in bubbles for the mapping
 * (ipv4, port): Miredo's check that lets a peer behind a symmetric NAT answer our bubble.
 */
export function isOwnBubbleInterfaceId(
  ctx: SecurityContext,
  address16: Uint8Array,
  ipv4: number,
  port: number,
): boolean {
  if (address16.length !== 16) return false;
  const hash = mappingHash(ctx, 0, ipv4, port);
  let difference = (hash[0]! & 0xfc) ^ address16[8]!;
  for (let i = 1; i < BUBBLE_INTERFACE_ID_BYTES; i++) difference |= hash[i]! ^ address16[8 + i]!;
  return difference === 0;
}

/** First two hash bytes for `ts` as a big-endian uint16; the caller masks it into the flags field. */
export function flagBits(ctx: SecurityContext, ts: number): number {
  const hash = hashWithPidAndTime(ctx, 0, ts, true);
  return (hash[0]! << 8) | hash[1]!;
}

function pingHmac(
  ctx: SecurityContext,
  ts: number,
  src16: Uint8Array,
  dst16: Uint8Array,
  identifier: number,
): Uint8Array {
  ctx.message.set(src16, 0);
  ctx.message.set(dst16, 16);
  return hashWithPidAndTime(ctx, 32, ts, false, identifier);
}

/**
 * Identifier variants of the ping authenticator: the Echo identifier is pid16 XOR a variant
 * below this, and the HMAC covers the identifier instead of pid16 (variant 0 is exactly
 * Miredo's authenticator). Routers that spread flows over several relays by a hash of the ICMPv6
 * identifier (ECMP, Linux fib_multipath_hash_policy=1) send the replies of different variants
 * through different relays, which is how the client tests the relay a native peer's data come
 * through (native-relays.ts).
 */
export const PING_VARIANTS = 64;

/**
 * The 22-byte ping authenticator for an Echo Request from `src16` to `dst16` sent at wall-clock
 * second `ts`: identifier = pid16 XOR `variant` (0..PING_VARIANTS-1), sequence = low 16 bits of
 * ts, then the high 16 bits of ts and the 16-byte HMAC (over the identifier) as echo data.
 */
export function pingHash(
  ctx: SecurityContext,
  ts: number,
  src16: Uint8Array,
  dst16: Uint8Array,
  out: Uint8Array = new Uint8Array(PING_HASH_BYTES),
  outOffset = 0,
  variant = 0,
): Uint8Array {
  if (src16.length !== 16 || dst16.length !== 16) {
    throw new RangeError('ping hash addresses must be 16 bytes');
  }
  if (!Number.isInteger(variant) || variant < 0 || variant >= PING_VARIANTS) {
    throw new RangeError(`ping variant must be an integer in 0..${PING_VARIANTS - 1}, got ${variant}`);
  }
  const identifier = ctx.pid16 ^ variant;
  putU16(out, outOffset, identifier);
  putU16(out, outOffset + 2, ts & 0xffff);
  putU16(out, outOffset + 4, ts >>> 16);
  out.set(pingHmac(ctx, ts >>> 0, src16, dst16, identifier), outOffset + 6);
  return out;
}

/**
 * Checks a received 22-byte authenticator (the echo body of a reply) for the request that went
 * from `src16` to `dst16`, at wall-clock second `now`. Never throws on hostile bytes.
 */
export function verifyPingHash(
  ctx: SecurityContext,
  hash22: Uint8Array,
  src16: Uint8Array,
  dst16: Uint8Array,
  now: number,
): PingHashVerdict {
  if (hash22.length !== PING_HASH_BYTES || src16.length !== 16 || dst16.length !== 16) {
    return 'wrong-length';
  }
  const identifier = (hash22[0]! << 8) | hash22[1]!;
  if ((identifier ^ ctx.pid16) >= PING_VARIANTS) return 'wrong-pid';
  const ts = ((hash22[4]! << 24) | (hash22[5]! << 16) | (hash22[2]! << 8) | hash22[3]!) >>> 0;
  if ((now - ts) >>> 0 >= PING_HASH_LIFETIME_SECONDS) return 'expired';
  const expected = pingHmac(ctx, ts, src16, dst16, identifier);
  let difference = 0;
  for (let i = 0; i < HMAC_MD5_BYTES; i++) difference |= expected[i]! ^ hash22[6 + i]!;
  return difference === 0 ? 'valid' : 'bad-hmac';
}
