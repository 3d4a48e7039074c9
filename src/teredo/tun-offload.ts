/**
 * TUN offloads, the read side (sans-I/O, no allocation): a TUN queue opened with IFF_VNET_HDR and
 * TUNSETOFFLOAD (src/os/native/tun.cc) hands the data plane each packet behind a virtio_net_hdr,
 * and may hand it TCP (TSO6) and UDP (USO6) super-packets of up to 64 KiB whose checksum is left
 * to do (NEEDS_CSUM: the kernel only summed the pseudo-header into the checksum field). Each
 * super-packet is cut here into IPv6 packets of at most gso_size payload bytes, each a packet the
 * kernel could have sent itself: payload length, TCP sequence number and flags (FIN, PSH and RST
 * on the last segment only, CWR on the first only), UDP length, and the whole checksum over the
 * pseudo-header. A packet without segmentation that needs its checksum gets it completed in
 * place. Anything inconsistent is refused with a typed reason, never thrown.
 *
 * virtio_net_hdr (10 bytes, host order, little-endian here): flags u8, gso_type u8, hdr_len u16,
 * gso_size u16, csum_start u16, csum_offset u16.
 */
import { foldSum, ipv6PseudoHeaderSum, onesComplementSum } from './checksum.js';
import { TUNNEL_COUNTER } from './tunnel-counters.js';

export const VNET_HEADER_BYTES = 10;
export const VNET_F_NEEDS_CSUM = 1;
export const VNET_GSO_NONE = 0;
export const VNET_GSO_TCPV4 = 1;
export const VNET_GSO_UDP = 3;
export const VNET_GSO_TCPV6 = 4;
export const VNET_GSO_UDP_L4 = 5;
export const VNET_GSO_ECN = 0x80;

const IPV6_HEADER_BYTES = 40;
const PROTOCOL_TCP = 6;
const PROTOCOL_UDP = 17;
const TCP_CHECKSUM_OFFSET = 16;
const UDP_CHECKSUM_OFFSET = 6;
const UDP_HEADER_BYTES = 8;
const TCP_MIN_HEADER_BYTES = 20;
const TCP_FIN = 0x01;
const TCP_RST = 0x04;
const TCP_PSH = 0x08;
const TCP_CWR = 0x80;

/** What a virtio_net_hdr asks of the data plane (offloadKind), or a drop reason (< 0). */
export const OFFLOAD_PLAIN = 0;
export const OFFLOAD_CHECKSUM = 1;
export const OFFLOAD_SEGMENT = 2;
/** A segmentation type this side never offered (IPv4, UFO) or a protocol that does not match it. */
export const OFFLOAD_DROP_TYPE = -1;
/** Checksum start or offset, or the headers, not where the packet has them. */
export const OFFLOAD_DROP_LAYOUT = -2;
/** gso_size 0, or a segment larger than an output slot. */
export const OFFLOAD_DROP_SIZE = -3;

/** The counter of each drop reason (reason -1 → index 0). */
export const OFFLOAD_DROP_COUNTERS: readonly number[] = [
  TUNNEL_COUNTER['drop-offload-type'],
  TUNNEL_COUNTER['drop-offload-layout'],
  TUNNEL_COUNTER['drop-offload-size'],
];

function u16le(bytes: Uint8Array, at: number): number {
  return (bytes[at] ?? 0) | ((bytes[at + 1] ?? 0) << 8);
}

function u16be(bytes: Uint8Array, at: number): number {
  return ((bytes[at] ?? 0) << 8) | (bytes[at + 1] ?? 0);
}

export function vnetFlags(header: Uint8Array, at: number): number {
  return header[at] ?? 0;
}
export function vnetGsoType(header: Uint8Array, at: number): number {
  return header[at + 1] ?? 0;
}
export function vnetGsoSize(header: Uint8Array, at: number): number {
  return u16le(header, at + 4);
}
export function vnetCsumStart(header: Uint8Array, at: number): number {
  return u16le(header, at + 6);
}
export function vnetCsumOffset(header: Uint8Array, at: number): number {
  return u16le(header, at + 8);
}

/** The virtio_net_hdr at header[at..at+10): plain, checksum to complete, segments to cut, or a drop. */
export function offloadKind(header: Uint8Array, at: number): number {
  const type = vnetGsoType(header, at) & ~VNET_GSO_ECN;
  if (type === VNET_GSO_TCPV6 || type === VNET_GSO_UDP_L4) return OFFLOAD_SEGMENT;
  if (type !== VNET_GSO_NONE) return OFFLOAD_DROP_TYPE;
  return (vnetFlags(header, at) & VNET_F_NEEDS_CSUM) !== 0 ? OFFLOAD_CHECKSUM : OFFLOAD_PLAIN;
}

/** The last buffer wordSum read, and views over it: one per data-plane thread, kept. */
let viewed: ArrayBufferLike | null = null;
let view: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
let words: Uint32Array<ArrayBufferLike> = new Uint32Array(0);

function viewOf(bytes: Uint8Array): void {
  if (viewed === bytes.buffer) return;
  viewed = bytes.buffer;
  view = new DataView(bytes.buffer);
  words = new Uint32Array(bytes.buffer, 0, Math.floor(bytes.buffer.byteLength / 4));
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** 0x1234 → 0x3412. */
function swap16(value: number): number {
  return ((value & 0xff) << 8) | (value >>> 8);
}

/**
 * onesComplementSum of bytes[from, to) (relative to the array), folded to 16 bits. An even start
 * is summed 32 bits at a time in the machine's (little-endian) order, whose folded sum is the
 * byte-swapped big-endian one (RFC 1071 section 2(B)) and 2^16 ≡ 1 mod 2^16 - 1 lets 32-bit
 * words stand for pairs of 16-bit ones: eight times fewer steps than byte pairs.
 */
export function wordSum(bytes: Uint8Array, from: number, to: number): number {
  viewOf(bytes);
  let i = bytes.byteOffset + from;
  const end = bytes.byteOffset + to;
  if ((i & 1) !== 0 || !LITTLE_ENDIAN) {
    let sum = 0;
    for (; i + 1 < end; i += 2) sum += view.getUint16(i);
    if (i < end) sum += view.getUint8(i) << 8;
    return foldSum(sum);
  }
  let head = 0;
  if ((i & 2) !== 0 && i + 1 < end) {
    head = view.getUint16(i);
    i += 2;
  }
  let little = 0;
  if ((i & 3) === 0) {
    let w = i >>> 2;
    const lastWord = (end >>> 2) - 1;
    for (; w <= lastWord; w++) little += words[w] ?? 0;
    i = Math.max(i, w * 4);
  }
  let tail = 0;
  for (; i + 1 < end; i += 2) tail += view.getUint16(i);
  if (i < end) tail += view.getUint8(i) << 8;
  return foldSum(head + swap16(foldSum(little)) + tail);
}

/** Copies src[from, to) to dst[at..]: memmove when both are the same array (the data plane's case). */
function copyBytes(src: Uint8Array, from: number, to: number, dst: Uint8Array, at: number): void {
  if (src === dst) {
    dst.copyWithin(at, from, to);
    return;
  }
  for (let i = from, j = at; i < to; i++, j++) dst[j] = src[i] ?? 0;
}

/** The checksum to store for a sum (RFC 1071). */
function finishChecksum(sum: number): number {
  return ~foldSum(sum) & 0xffff;
}

function putU16(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value >>> 8;
  bytes[at + 1] = value & 0xff;
}

/** The protocol a checksum offset stands for (TCP 16, UDP 6), or 0. */
function protocolOfChecksumOffset(csumOffset: number): number {
  if (csumOffset === TCP_CHECKSUM_OFFSET) return PROTOCOL_TCP;
  return csumOffset === UDP_CHECKSUM_OFFSET ? PROTOCOL_UDP : 0;
}

/**
 * Completes, in place, the TCP or UDP checksum of the IPv6 packet at bytes[offset, offset + length)
 * whose header asks for it (OFFLOAD_CHECKSUM). Returns OFFLOAD_CHECKSUM or OFFLOAD_DROP_LAYOUT.
 */
export function completeChecksum(
  bytes: Uint8Array,
  offset: number,
  length: number,
  header: Uint8Array,
  at: number,
): number {
  const start = vnetCsumStart(header, at);
  const field = start + vnetCsumOffset(header, at);
  const protocol = protocolOfChecksumOffset(vnetCsumOffset(header, at));
  if (protocol === 0 || start < IPV6_HEADER_BYTES || field + 2 > length || (bytes[offset] ?? 0) >> 4 !== 6) {
    return OFFLOAD_DROP_LAYOUT;
  }
  putU16(bytes, offset + field, 0);
  const upper = length - start;
  const sum =
    ipv6PseudoHeaderSum(bytes, offset, 0, 0) +
    upper +
    protocol +
    wordSum(bytes, offset + start, offset + length);
  const checksum = finishChecksum(sum);
  putU16(bytes, offset + field, checksum === 0 && protocol === PROTOCOL_UDP ? 0xffff : checksum);
  return OFFLOAD_CHECKSUM;
}

/** Where a super-packet's output goes: slots of `slotSize` bytes in `data`, lengths per slot. */
export interface SegmentOutput {
  /** The same array as the super-packet's, in the data plane, so that payloads are memmoved. */
  readonly data: Uint8Array;
  /** Where slot 0 starts in `data`. */
  readonly base: number;
  readonly slotSize: number;
  readonly lengths: Uint32Array;
}

/**
 * The super-packet's layout, checked: how many header bytes (IPv6, any extension headers, TCP or
 * UDP) each segment repeats, or a drop reason (< 0). Segments must fit in slots of `slotSize`.
 */
export function segmentPlan(
  bytes: Uint8Array,
  offset: number,
  length: number,
  header: Uint8Array,
  at: number,
  slotSize: number,
): number {
  const udp = (vnetGsoType(header, at) & ~VNET_GSO_ECN) === VNET_GSO_UDP_L4;
  const start = vnetCsumStart(header, at);
  const gsoSize = vnetGsoSize(header, at);
  if ((vnetFlags(header, at) & VNET_F_NEEDS_CSUM) === 0) return OFFLOAD_DROP_LAYOUT;
  if (vnetCsumOffset(header, at) !== (udp ? UDP_CHECKSUM_OFFSET : TCP_CHECKSUM_OFFSET))
    return OFFLOAD_DROP_TYPE;
  if (start < IPV6_HEADER_BYTES || start + UDP_HEADER_BYTES > length || (bytes[offset] ?? 0) >> 4 !== 6) {
    return OFFLOAD_DROP_LAYOUT;
  }
  if (start === IPV6_HEADER_BYTES && bytes[offset + 6] !== (udp ? PROTOCOL_UDP : PROTOCOL_TCP)) {
    return OFFLOAD_DROP_TYPE;
  }
  const l4Bytes = udp ? UDP_HEADER_BYTES : ((bytes[offset + start + 12] ?? 0) >> 4) * 4;
  const headerBytes = start + l4Bytes;
  if ((!udp && l4Bytes < TCP_MIN_HEADER_BYTES) || headerBytes > length) return OFFLOAD_DROP_LAYOUT;
  if (gsoSize === 0 || headerBytes + gsoSize > slotSize) return OFFLOAD_DROP_SIZE;
  return headerBytes;
}

/** How many segments a super-packet of `length` bytes with `headerBytes` of headers makes. */
export function segmentCount(length: number, headerBytes: number, gsoSize: number): number {
  return Math.max(1, Math.ceil((length - headerBytes) / gsoSize));
}

/**
 * Writes segments first..first+count-1 of the super-packet at bytes[offset, offset + length)
 * (checked by segmentPlan: `headerBytes`) into out's slots outFirst.., with their lengths.
 */
export function writeSegments(
  bytes: Uint8Array,
  offset: number,
  length: number,
  header: Uint8Array,
  at: number,
  headerBytes: number,
  first: number,
  count: number,
  out: SegmentOutput,
  outFirst: number,
): void {
  const udp = (vnetGsoType(header, at) & ~VNET_GSO_ECN) === VNET_GSO_UDP_L4;
  const start = vnetCsumStart(header, at);
  const gsoSize = vnetGsoSize(header, at);
  const payload = length - headerBytes;
  const last = segmentCount(length, headerBytes, gsoSize) - 1;
  const protocol = udp ? PROTOCOL_UDP : PROTOCOL_TCP;
  const addresses = ipv6PseudoHeaderSum(bytes, offset, 0, 0);
  const l4 = offset + start;
  const sequence = udp
    ? 0
    : (bytes[l4 + 4] ?? 0) * 0x1000000 + u16be(bytes, l4 + 5) * 0x100 + (bytes[l4 + 7] ?? 0);
  const tcpFlags = udp ? 0 : (bytes[l4 + 13] ?? 0);
  const { data, slotSize, lengths } = out;
  const slot0 = out.base;
  for (let k = first; k < first + count; k++) {
    const chunk = k === last ? payload - k * gsoSize : gsoSize;
    const segment = headerBytes + chunk;
    const base = slot0 + (outFirst + k - first) * slotSize;
    copyBytes(bytes, offset, offset + headerBytes, data, base);
    putU16(data, base + 4, segment - IPV6_HEADER_BYTES);
    const outL4 = base + start;
    if (udp) {
      putU16(data, outL4 + 4, segment - start);
      putU16(data, outL4 + UDP_CHECKSUM_OFFSET, 0);
    } else {
      const seq = (sequence + k * gsoSize) % 0x100000000;
      putU16(data, outL4 + 4, Math.floor(seq / 0x10000));
      putU16(data, outL4 + 6, seq & 0xffff);
      let flags = tcpFlags;
      if (k !== 0) flags &= ~TCP_CWR;
      if (k !== last) flags &= ~(TCP_FIN | TCP_PSH | TCP_RST);
      data[outL4 + 13] = flags;
      putU16(data, outL4 + TCP_CHECKSUM_OFFSET, 0);
    }
    const from = offset + headerBytes + k * gsoSize;
    const sum =
      addresses +
      (segment - start) +
      protocol +
      onesComplementSum(data, outL4, headerBytes - start) +
      wordSum(bytes, from, from + chunk);
    copyBytes(bytes, from, from + chunk, data, base + headerBytes);
    const checksum = finishChecksum(sum);
    putU16(
      data,
      outL4 + (udp ? UDP_CHECKSUM_OFFSET : TCP_CHECKSUM_OFFSET),
      udp && checksum === 0 ? 0xffff : checksum,
    );
    lengths[outFirst + k - first] = segment;
  }
}
