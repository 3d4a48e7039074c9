/**
 * Classic libpcap files of IPv4/UDP datagrams, for feeding packets we built to tshark.
 * Link type RAW (101): each record is a bare IPv4 packet. The IPv4 header checksum and the UDP
 * checksum are computed here, independently of the code under test, and DF is left clear as
 * Teredo requires.
 */
import { writeFile } from 'node:fs/promises';
import { ipv4Bytes } from './inet.js';

export const LINKTYPE_RAW = 101;
const PCAP_MAGIC = 0xa1b2c3d4;
const SNAPLEN = 65535;
const IPV4_HEADER_BYTES = 20;
const UDP_HEADER_BYTES = 8;
const IPPROTO_UDP = 17;

export interface UdpRecord {
  readonly srcIPv4: string;
  readonly srcPort: number;
  readonly dstIPv4: string;
  readonly dstPort: number;
  readonly payload: Uint8Array;
}

/** RFC 1071 one's-complement sum of `bytes`, folded to 16 bits, starting from `initial`. */
function onesComplementSum(bytes: Uint8Array, initial = 0): number {
  let sum = initial;
  for (let i = 0; i + 1 < bytes.length; i += 2) sum += (bytes[i]! << 8) | bytes[i + 1]!;
  if (bytes.length % 2 === 1) sum += bytes[bytes.length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

export function internetChecksum(bytes: Uint8Array, initial = 0): number {
  return ~onesComplementSum(bytes, initial) & 0xffff;
}

/** IPv4 header (no options, DF clear, TTL 64) + UDP header + payload, both checksums filled in. */
export function buildIPv4Udp(record: UdpRecord, identification = 0): Uint8Array {
  const udpLength = UDP_HEADER_BYTES + record.payload.length;
  const totalLength = IPV4_HEADER_BYTES + udpLength;
  if (totalLength > 0xffff) throw new RangeError(`UDP payload too large: ${record.payload.length} bytes`);
  const packet = new Uint8Array(totalLength);
  const view = new DataView(packet.buffer);
  const src = ipv4Bytes(record.srcIPv4);
  const dst = ipv4Bytes(record.dstIPv4);

  view.setUint8(0, 0x45);
  view.setUint16(2, totalLength);
  view.setUint16(4, identification & 0xffff);
  view.setUint16(6, 0); // flags and fragment offset: DF clear, not fragmented
  view.setUint8(8, 64);
  view.setUint8(9, IPPROTO_UDP);
  packet.set(src, 12);
  packet.set(dst, 16);
  view.setUint16(10, internetChecksum(packet.subarray(0, IPV4_HEADER_BYTES)));

  const udp = packet.subarray(IPV4_HEADER_BYTES);
  const udpView = new DataView(packet.buffer, IPV4_HEADER_BYTES);
  udpView.setUint16(0, record.srcPort);
  udpView.setUint16(2, record.dstPort);
  udpView.setUint16(4, udpLength);
  udp.set(record.payload, UDP_HEADER_BYTES);
  const pseudoHeader = new Uint8Array(12);
  pseudoHeader.set(src, 0);
  pseudoHeader.set(dst, 4);
  pseudoHeader[9] = IPPROTO_UDP;
  pseudoHeader[10] = udpLength >>> 8;
  pseudoHeader[11] = udpLength & 0xff;
  const checksum = internetChecksum(udp, onesComplementSum(pseudoHeader));
  // A computed 0 is sent as 0xffff: 0 means "no checksum" in UDP over IPv4.
  udpView.setUint16(6, checksum === 0 ? 0xffff : checksum);
  return packet;
}

/** A whole pcap file; record i gets timestamp i seconds after `startSeconds`. */
export function buildPcap(records: readonly UdpRecord[], startSeconds = 1_700_000_000): Uint8Array {
  const packets = records.map((record, i) => buildIPv4Udp(record, i + 1));
  const size = 24 + packets.reduce((total, p) => total + 16 + p.length, 0);
  const file = new Uint8Array(size);
  const view = new DataView(file.buffer);
  view.setUint32(0, PCAP_MAGIC, true);
  view.setUint16(4, 2, true);
  view.setUint16(6, 4, true);
  view.setInt32(8, 0, true);
  view.setUint32(12, 0, true);
  view.setUint32(16, SNAPLEN, true);
  view.setUint32(20, LINKTYPE_RAW, true);
  let at = 24;
  packets.forEach((packet, i) => {
    view.setUint32(at, startSeconds + i, true);
    view.setUint32(at + 4, 0, true);
    view.setUint32(at + 8, packet.length, true);
    view.setUint32(at + 12, packet.length, true);
    file.set(packet, at + 16);
    at += 16 + packet.length;
  });
  return file;
}

export async function writePcap(path: string, records: readonly UdpRecord[]): Promise<void> {
  await writeFile(path, buildPcap(records));
}
