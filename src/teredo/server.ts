/**
 * The Teredo server's decisions (RFC 4380 section 5.3, Miredo's teredo_process_packet; rules 1-10
 * of reference section 4.11), with no I/O and no per-client state. The caller receives a datagram,
 * hands it to process(), and sends what the filled ServerAction says from the caller's buffer.
 *
 * Per packet nothing is allocated: the payload record, the RA template and the rate limiters
 * are made once per processor, and the answer goes into the caller's buffer and action object.
 *
 * Output: the core's usual style, a caller buffer and a tagged result (ServerAction), since a
 * datagram gets at most one answer. The tunnel core (relay.ts) and qualification cannot work so;
 * each says why.
 *
 * Deviations from Miredo, on purpose:
 * - the RA carries an authentication header (the RS's nonce, confirmation 0) only when the RS
 *   had one; Miredo always adds one, with uninitialised bytes when the RS had none;
 * - RS/RA and forwarding are rate limited per source IPv4 (Miredo has no limit);
 * - a forward to a client carries the datagram's trailer (as Miredo does) only while the whole
 *   fits SERVER_MAX_OUTPUT_BYTES; bigger ones are dropped ('drop-trailer-too-large').
 */
import { isConeAt, teredoClientAt, teredoMappingMatchesAt, teredoPortAt, teredoServerAt } from './address.js';
import { readU16, readU32 } from './bytes.js';
import { foldSum, ipv6PseudoHeaderSum, onesComplementSum } from './checksum.js';
import { ICMPV6_TYPE, NEXT_HEADER, TEREDO_CONSTANTS, WIRE_SIZE } from './constants.js';
import type { TeredoConstants } from './constants.js';
import { isGlobalUnicastIPv4 } from './ipv4.js';
import {
  ipv6AddressesEqual,
  isAllRoutersMulticastAt,
  isForwardableIPv6At,
  isLinkLocalIPv6At,
} from './ipv6-address.js';
import {
  IPV6_DESTINATION_OFFSET,
  IPV6_SOURCE_OFFSET,
  ipv6NextHeader,
  ipv6PayloadLength,
} from './ipv6-header.js';
import { IPV6_HEADER_BYTES } from './constants.js';
import { createSourceRateLimiter } from './rate-limiter.js';
import { buildRouterAdvertisement, routerAdvertisementLength } from './router-advertisement.js';
import { SERVER_COUNTER } from './server-counters.js';
import { createTeredoPayload, parseTeredoPayload, writeOriginIndication } from './wire.js';

/** Enough for any RA (117 bytes) or forwarded packet (8 + 40 + 88 bytes, plus a small trailer). */
export const SERVER_MAX_OUTPUT_BYTES = 256;

export const SERVER_ACTION_DROP = 0,
  SERVER_ACTION_SEND_UDP = 1,
  SERVER_ACTION_SEND_RAW = 2;

/** What to do with one datagram. Mutable: one object is reused for every packet. */
export interface ServerAction {
  /** SERVER_ACTION_DROP, SERVER_ACTION_SEND_UDP or SERVER_ACTION_SEND_RAW. */
  kind: number;
  /** Index in SERVER_COUNTER_NAMES of the accept or drop reason. */
  counter: number;
  /** SEND_UDP: 0 = primary socket, 1 = secondary socket. */
  socket: number;
  /** SEND_UDP destination IPv4 (uint32). */
  ipv4: number;
  /** SEND_UDP destination port. */
  port: number;
  /** Bytes written to `out` at `outOffset`: the UDP payload, or the whole IPv6 packet for SEND_RAW. */
  length: number;
}

export function createServerAction(): ServerAction {
  return { kind: SERVER_ACTION_DROP, counter: 0, socket: 0, ipv4: 0, port: 0, length: 0 };
}

export interface RateLimitSetting {
  /** Packets per second per source IPv4; 0 = off. */
  readonly perSecond: number;
  readonly burst: number;
}

export interface ServerParams {
  readonly primaryIPv4: number;
  readonly secondaryIPv4: number;
  /** 32-bit Teredo prefix served and advertised. */
  readonly prefix: number;
  /** MTU advertised in RAs. */
  readonly mtu: number;
  readonly rsRateLimit: RateLimitSetting;
  readonly forwardRateLimit: RateLimitSetting;
  readonly constants?: TeredoConstants;
}

export interface ServerProcessor {
  /**
   * Judges one received datagram (bytes[offset, offset+length)) from srcIPv4:srcPort that arrived
   * on socket `arrivedOn` (0 primary, 1 secondary) at monotonic time nowMs; writes what to send
   * into out[outOffset..] (capacity SERVER_MAX_OUTPUT_BYTES, not overlapping the datagram) and
   * fills `action`. Never throws on any bytes; throws RangeError only if `out` lacks the capacity.
   * srcIPv4 may also be given as int32 (`ipv4 | 0`); an integer nowMs and an int32 srcIPv4 avoid
   * boxing them at each call.
   */
  process(
    bytes: Uint8Array,
    offset: number,
    length: number,
    srcIPv4: number,
    srcPort: number,
    arrivedOn: number,
    nowMs: number,
    out: Uint8Array,
    outOffset: number,
    action: ServerAction,
  ): void;
}

const ROUTER_SOLICITATION_MESSAGE_BYTES = 8;
/** Offsets inside the RA template: origin indication, then the IPv6 packet. */
const TEMPLATE_IPV6 = WIRE_SIZE.originIndication;
const TEMPLATE_DESTINATION = TEMPLATE_IPV6 + IPV6_DESTINATION_OFFSET;
const TEMPLATE_CHECKSUM = TEMPLATE_IPV6 + IPV6_HEADER_BYTES + 2;

function isUint32(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= 0xffffffff;
}

function validate(params: ServerParams): void {
  for (const name of ['primaryIPv4', 'secondaryIPv4', 'prefix'] as const) {
    if (!isUint32(params[name])) throw new RangeError(`${name} must be a uint32, got ${params[name]}`);
  }
  if (!Number.isInteger(params.mtu) || params.mtu < 0 || params.mtu > 0xffffffff) {
    throw new RangeError(`mtu must be a uint32, got ${params.mtu}`);
  }
}

function drop(action: ServerAction, counter: number): void {
  action.kind = SERVER_ACTION_DROP;
  action.counter = counter;
  action.socket = 0;
  action.ipv4 = 0;
  action.port = 0;
  action.length = 0;
}

function copyBytes(
  from: Uint8Array,
  fromOffset: number,
  to: Uint8Array,
  toOffset: number,
  count: number,
): void {
  for (let i = 0; i < count; i++) to[toOffset + i] = from[fromOffset + i]!;
}

/**
 * The RA every RS gets, less the auth header (104 bytes: origin indication, IPv6 header, RA,
 * prefix and MTU options) with a zero origin and destination, and the checksum sum of everything
 * but the destination, which is all that changes in the ICMPv6 checksum from one RA to the next.
 */
function routerAdvertisementTemplate(
  params: ServerParams,
  constants: TeredoConstants,
): { readonly bytes: Uint8Array; readonly partialSum: number } {
  const fields = {
    originPort: 0,
    originIPv4: 0,
    destination: new Uint8Array(16),
    serverIPv4: params.primaryIPv4,
    prefix: params.prefix,
    mtu: params.mtu,
  };
  const bytes = new Uint8Array(routerAdvertisementLength(fields));
  buildRouterAdvertisement(bytes, 0, fields, constants);
  bytes[TEMPLATE_CHECKSUM] = 0;
  bytes[TEMPLATE_CHECKSUM + 1] = 0;
  const messageLength = ipv6PayloadLength(bytes, TEMPLATE_IPV6);
  const partialSum = onesComplementSum(
    bytes,
    TEMPLATE_IPV6 + IPV6_HEADER_BYTES,
    messageLength,
    ipv6PseudoHeaderSum(bytes, TEMPLATE_IPV6, messageLength, ipv6NextHeader(bytes, TEMPLATE_IPV6)),
  );
  return { bytes, partialSum };
}

/**
 * Longer than 80 lines: the processor's preallocated records (payload, RA template, rate limiters,
 * scratch) are closure variables that processDatagram() reads for every datagram without
 * allocating; processDatagram is most of the length.
 */
export function createServerProcessor(params: ServerParams): ServerProcessor {
  validate(params);
  const constants = params.constants ?? TEREDO_CONSTANTS;
  // IPv4 values from the packet and the caller are kept as int32 (`| 0`): uint32 values above
  // 2^31 would be boxed as heap numbers at every call, an allocation per packet.
  const primary = params.primaryIPv4 >>> 0;
  const primaryInt = primary | 0;
  const secondaryInt = params.secondaryIPv4 | 0;
  const prefix = params.prefix >>> 0;
  const teredoPort = constants.port;
  const payloadCap = constants.serverIcmpv6PayloadCap;
  const template = routerAdvertisementTemplate(params, constants);
  const raTemplate = template.bytes;
  const raPartialSum = template.partialSum;
  const serverLinkLocal = raTemplate.subarray(TEMPLATE_IPV6 + IPV6_SOURCE_OFFSET, TEMPLATE_DESTINATION);
  const rsLimiter = createSourceRateLimiter(params.rsRateLimit);
  const forwardLimiter = createSourceRateLimiter(params.forwardRateLimit);
  const payload = createTeredoPayload();

  /** Writes the RA answering the RS at `ip` and returns its length. */
  function writeRouterAdvertisement(
    bytes: Uint8Array,
    ip: number,
    srcIPv4: number,
    srcPort: number,
    out: Uint8Array,
    outOffset: number,
  ): number {
    let at = outOffset;
    if (payload.hasAuth) {
      out[at] = 0;
      out[at + 1] = 1;
      out[at + 2] = 0; // client ID and auth value are not echoed, as in Miredo
      out[at + 3] = 0;
      copyBytes(bytes, payload.nonceOffset, out, at + 4, WIRE_SIZE.nonce);
      out[at + 4 + WIRE_SIZE.nonce] = 0;
      at += WIRE_SIZE.authHeaderMin;
    }
    out.set(raTemplate, at);
    writeOriginIndication(out, at, srcPort, srcIPv4);
    const source = ip + IPV6_SOURCE_OFFSET;
    const destination = at + TEMPLATE_DESTINATION;
    let sum = raPartialSum;
    for (let i = 0; i < 16; i += 2) {
      const high = bytes[source + i]!;
      const low = bytes[source + i + 1]!;
      out[destination + i] = high;
      out[destination + i + 1] = low;
      sum += (high << 8) | low;
    }
    const checksum = ~foldSum(sum) & 0xffff;
    out[at + TEMPLATE_CHECKSUM] = checksum >>> 8;
    out[at + TEMPLATE_CHECKSUM + 1] = checksum & 0xff;
    return at + raTemplate.length - outOffset;
  }

  /**
   * Longer than 80 lines: rules 1 to 10 of the Teredo server (RFC 4380 section 5.3, reference
   * section 4.11) in their order, one early return per rule, so that it reads against the reference
   * rule by rule.
   */
  function processDatagram(
    bytes: Uint8Array,
    offset: number,
    length: number,
    srcIPv4: number,
    srcPort: number,
    arrivedOn: number,
    nowMs: number,
    out: Uint8Array,
    outOffset: number,
    action: ServerAction,
  ): void {
    if (!Number.isInteger(outOffset) || outOffset < 0 || outOffset + SERVER_MAX_OUTPUT_BYTES > out.length) {
      throw new RangeError(`server output needs ${SERVER_MAX_OUTPUT_BYTES} bytes at offset ${outOffset}`);
    }
    const sourceIPv4 = srcIPv4 | 0;
    const sourcePort = srcPort & 0xffff;

    // 1. a whole IPv6 packet after the Teredo headers
    if (parseTeredoPayload(bytes, length, payload, offset) !== 'ok') {
      return drop(action, SERVER_COUNTER['drop-malformed']);
    }
    const ip = payload.ipv6Offset;
    const source = ip + IPV6_SOURCE_OFFSET;
    const destination = ip + IPV6_DESTINATION_OFFSET;
    const payloadLength = readU16(bytes, ip + 4);
    const nextHeader = bytes[ip + 6]!;

    // 2. a bubble or ICMPv6
    const bubble = payloadLength === 0 && nextHeader === NEXT_HEADER.noNextHeader;
    if (!bubble && nextHeader !== NEXT_HEADER.icmpv6) {
      return drop(action, SERVER_COUNTER['drop-not-icmpv6-or-bubble']);
    }

    // 3.
    if (!isGlobalUnicastIPv4(sourceIPv4)) return drop(action, SERVER_COUNTER['drop-source-not-global']);

    // 4. an RS, a Teredo source sending from its own mapping, or traffic to a client of ours
    const solicitation =
      nextHeader === NEXT_HEADER.icmpv6 &&
      payloadLength >= ROUTER_SOLICITATION_MESSAGE_BYTES &&
      bytes[ip + IPV6_HEADER_BYTES] === ICMPV6_TYPE.routerSolicitation;
    if (!(solicitation && isLinkLocalIPv6At(bytes, source) && isAllRoutersMulticastAt(bytes, destination))) {
      if (readU32(bytes, source) === prefix) {
        if (!teredoMappingMatchesAt(bytes, source, sourceIPv4, sourcePort)) {
          return drop(action, SERVER_COUNTER['drop-mapping-mismatch']);
        }
      } else if (readU32(bytes, destination) !== prefix || teredoServerAt(bytes, destination) !== primary) {
        return drop(action, SERVER_COUNTER['drop-destination-not-served']);
      }
    }

    // 5. never answer ourselves (MTFL-SA 0603)
    if (sourcePort === teredoPort && (sourceIPv4 === primaryInt || sourceIPv4 === secondaryInt)) {
      return drop(action, SERVER_COUNTER['drop-loop']);
    }

    // 6. for the server itself: only RSs, answered from the other address if the client is cone
    if (
      isAllRoutersMulticastAt(bytes, destination) ||
      ipv6AddressesEqual(bytes, destination, serverLinkLocal, 0)
    ) {
      if (!solicitation) return drop(action, SERVER_COUNTER['drop-to-server-not-rs']);
      if (!rsLimiter.allow(sourceIPv4, nowMs)) return drop(action, SERVER_COUNTER['drop-rate-limited-rs']);
      const arrivedSocket = arrivedOn === 1 ? 1 : 0;
      action.kind = SERVER_ACTION_SEND_UDP;
      action.counter = SERVER_COUNTER['ra-sent'];
      action.socket = isConeAt(bytes, source) ? 1 - arrivedSocket : arrivedSocket;
      action.ipv4 = sourceIPv4 >>> 0;
      action.port = sourcePort;
      action.length = writeRouterAdvertisement(bytes, ip, sourceIPv4, sourcePort, out, outOffset);
      return;
    }

    // 7.
    if (!isForwardableIPv6At(bytes, destination)) {
      return drop(action, SERVER_COUNTER['drop-destination-not-global']);
    }
    // 8. not an open relay: bubbles and small ICMPv6 only
    if (!bubble && payloadLength > payloadCap) return drop(action, SERVER_COUNTER['drop-too-large']);

    // 9. native destination: the IPv6 packet verbatim (hop limit untouched), on the raw socket
    if (readU32(bytes, destination) !== prefix) {
      if (!forwardLimiter.allow(sourceIPv4, nowMs)) {
        return drop(action, SERVER_COUNTER['drop-rate-limited-forward']);
      }
      copyBytes(bytes, ip, out, outOffset, payload.ipv6Length);
      action.kind = SERVER_ACTION_SEND_RAW;
      action.counter = SERVER_COUNTER['forwarded-native'];
      action.socket = 0;
      action.ipv4 = 0;
      action.port = 0;
      action.length = payload.ipv6Length;
      return;
    }

    // 10. Teredo destination: UDP from the primary address to the client's mapping, with an
    // origin indication when the client is ours
    const clientIPv4 = teredoClientAt(bytes, destination) | 0;
    if (!isGlobalUnicastIPv4(clientIPv4)) return drop(action, SERVER_COUNTER['drop-client-not-global']);
    const withOrigin = teredoServerAt(bytes, destination) === primary;
    const forwarded = payload.ipv6Length + payload.trailerLength;
    const total = (withOrigin ? WIRE_SIZE.originIndication : 0) + forwarded;
    if (total > SERVER_MAX_OUTPUT_BYTES) return drop(action, SERVER_COUNTER['drop-trailer-too-large']);
    if (!forwardLimiter.allow(sourceIPv4, nowMs)) {
      return drop(action, SERVER_COUNTER['drop-rate-limited-forward']);
    }
    let at = outOffset;
    if (withOrigin) at += writeOriginIndication(out, at, sourcePort, sourceIPv4);
    copyBytes(bytes, ip, out, at, forwarded);
    action.kind = SERVER_ACTION_SEND_UDP;
    action.counter = SERVER_COUNTER['forwarded-to-client'];
    action.socket = 0;
    action.ipv4 = clientIPv4 >>> 0;
    action.port = teredoPortAt(bytes, destination);
    action.length = total;
  }

  return { process: processDatagram };
}
