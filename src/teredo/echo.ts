/**
 * ICMPv6 Echo Request / Reply (RFC 4443 section 4) in a full IPv6 packet. Teredo uses them for
 * the direct connectivity test: a client pings a native host through its server, with Miredo's
 * authenticator (security.ts pingHash) as identifier, sequence and 18 data bytes.
 */
import { assertRoom, readU16, writeU16 } from './bytes.js';
import { ICMPV6_TYPE, NEXT_HEADER } from './constants.js';
import { checkIcmpv6Packet, fillIcmpv6Checksum, icmpv6Code, icmpv6Type } from './icmpv6-message.js';
import type { Icmpv6DropReason } from './icmpv6-message.js';
import { IPV6_HEADER_BYTES } from './constants.js';
import { ipv6PayloadLength, writeIPv6Header } from './ipv6-header.js';

const ECHO_HEADER_BYTES = 8;

export type EchoKind = 'request' | 'reply';

export interface EchoFields {
  readonly kind: EchoKind;
  readonly source: Uint8Array;
  readonly sourceOffset?: number;
  readonly destination: Uint8Array;
  readonly destinationOffset?: number;
  readonly hopLimit: number;
  readonly identifier: number;
  readonly sequence: number;
  readonly data?: Uint8Array;
}

export function echoPacketLength(dataLength: number): number {
  return IPV6_HEADER_BYTES + ECHO_HEADER_BYTES + dataLength;
}

/** Writes a complete IPv6 packet with an Echo message at `offset`, checksum included; returns its length. */
export function buildEcho(out: Uint8Array, offset: number, fields: EchoFields): number {
  const data = fields.data ?? new Uint8Array(0);
  const length = echoPacketLength(data.length);
  if (length - IPV6_HEADER_BYTES > 0xffff) throw new RangeError('echo data too long for one IPv6 packet');
  assertRoom(out, offset, length, 'echo packet');
  writeIPv6Header(out, offset, {
    payloadLength: length - IPV6_HEADER_BYTES,
    nextHeader: NEXT_HEADER.icmpv6,
    hopLimit: fields.hopLimit,
    source: fields.source,
    destination: fields.destination,
    ...(fields.sourceOffset === undefined ? {} : { sourceOffset: fields.sourceOffset }),
    ...(fields.destinationOffset === undefined ? {} : { destinationOffset: fields.destinationOffset }),
  });
  const icmp = offset + IPV6_HEADER_BYTES;
  out[icmp] = fields.kind === 'request' ? ICMPV6_TYPE.echoRequest : ICMPV6_TYPE.echoReply;
  out[icmp + 1] = 0;
  writeU16(out, icmp + 4, fields.identifier);
  writeU16(out, icmp + 6, fields.sequence);
  out.set(data, icmp + ECHO_HEADER_BYTES);
  fillIcmpv6Checksum(out, offset);
  return length;
}

export type EchoDropReason = Icmpv6DropReason | 'not-echo';
export const ECHO_DROP_REASONS: readonly EchoDropReason[] = Object.freeze([
  'ipv6-truncated',
  'not-ipv6',
  'ipv6-payload-truncated',
  'not-icmpv6',
  'icmpv6-truncated',
  'not-echo',
]);

export interface EchoMessage {
  kind: EchoKind;
  identifier: number;
  sequence: number;
  /** Where the echo data lies in the parsed buffer. */
  dataOffset: number;
  dataLength: number;
}

export function createEchoMessage(): EchoMessage {
  return { kind: 'request', identifier: 0, sequence: 0, dataOffset: -1, dataLength: 0 };
}

/** Parses the IPv6 packet at bytes[offset, offset + length) as an Echo Request or Reply (code 0). */
export function parseEcho(
  bytes: Uint8Array,
  offset: number,
  length: number,
  out: EchoMessage,
): 'ok' | EchoDropReason {
  out.kind = 'request';
  out.identifier = 0;
  out.sequence = 0;
  out.dataOffset = -1;
  out.dataLength = 0;
  const verdict = checkIcmpv6Packet(bytes, offset, length, ECHO_HEADER_BYTES);
  if (verdict !== 'ok') return verdict;
  const type = icmpv6Type(bytes, offset);
  if (
    (type !== ICMPV6_TYPE.echoRequest && type !== ICMPV6_TYPE.echoReply) ||
    icmpv6Code(bytes, offset) !== 0
  ) {
    return 'not-echo';
  }
  const icmp = offset + IPV6_HEADER_BYTES;
  out.kind = type === ICMPV6_TYPE.echoRequest ? 'request' : 'reply';
  out.identifier = readU16(bytes, icmp + 4);
  out.sequence = readU16(bytes, icmp + 6);
  out.dataOffset = icmp + ECHO_HEADER_BYTES;
  out.dataLength = ipv6PayloadLength(bytes, offset) - ECHO_HEADER_BYTES;
  return 'ok';
}
