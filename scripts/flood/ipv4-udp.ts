/**
 * IPv4 + UDP headers for packets sent on a raw IPv4 socket (IP_HDRINCL), where the sender
 * writes the whole packet and so may pick any source address. Both checksums are filled in,
 * so a capture of the flood decodes cleanly (the kernel would fix the IPv4 one anyway).
 */
import { foldSum, onesComplementSum } from '../../src/teredo/checksum.js';
import { writeU16, writeU32 } from '../../src/teredo/bytes.js';

export const IPV4_HEADER_BYTES = 20;
export const UDP_HEADER_BYTES = 8;
export const IPV4_UDP_HEADER_BYTES = IPV4_HEADER_BYTES + UDP_HEADER_BYTES;

const IPPROTO_UDP = 17;
const DEFAULT_TTL = 64;

export interface Ipv4UdpFields {
  /** uint32 values of the addresses (198.51.100.1 → 0xc6336401). */
  readonly source: number;
  readonly destination: number;
  readonly sourcePort: number;
  readonly destinationPort: number;
  readonly identification?: number;
  readonly ttl?: number;
}

/** The checksum to store in the 20-byte IPv4 header at `offset` (its checksum field read as zero). */
export function ipv4HeaderChecksum(bytes: Uint8Array, offset: number): number {
  const sum =
    onesComplementSum(bytes, offset, 10) + onesComplementSum(bytes, offset + 12, IPV4_HEADER_BYTES - 12);
  return ~foldSum(sum) & 0xffff;
}

/** UDP checksum over the IPv4 pseudo-header; 0 is sent as 0xffff (0 means "none"). */
function udpChecksum(bytes: Uint8Array, ipv4Offset: number, udpLength: number): number {
  let sum = onesComplementSum(bytes, ipv4Offset + 12, 8) + IPPROTO_UDP + udpLength;
  const udp = ipv4Offset + IPV4_HEADER_BYTES;
  sum = onesComplementSum(bytes, udp, 6, sum);
  sum = onesComplementSum(bytes, udp + UDP_HEADER_BYTES, udpLength - UDP_HEADER_BYTES, sum);
  const checksum = ~foldSum(sum) & 0xffff;
  return checksum === 0 ? 0xffff : checksum;
}

/**
 * Writes the IPv4 and UDP headers at out[offset, offset + 28) in front of the `payloadLength`
 * bytes already at out[offset + 28, ...), and returns the whole packet's length.
 */
export function writeIpv4UdpHeaders(
  out: Uint8Array,
  offset: number,
  payloadLength: number,
  fields: Ipv4UdpFields,
): number {
  const total = IPV4_UDP_HEADER_BYTES + payloadLength;
  if (offset < 0 || offset + total > out.length || total > 0xffff) {
    throw new RangeError(`no room for a ${total}-byte IPv4/UDP packet at ${offset}`);
  }
  out[offset] = 0x45; // version 4, 5 words of header
  out[offset + 1] = 0;
  writeU16(out, offset + 2, total);
  writeU16(out, offset + 4, fields.identification ?? 0);
  writeU16(out, offset + 6, 0); // no flags, no fragment offset
  out[offset + 8] = fields.ttl ?? DEFAULT_TTL;
  out[offset + 9] = IPPROTO_UDP;
  writeU16(out, offset + 10, 0);
  writeU32(out, offset + 12, fields.source);
  writeU32(out, offset + 16, fields.destination);
  writeU16(out, offset + 10, ipv4HeaderChecksum(out, offset));

  const udp = offset + IPV4_HEADER_BYTES;
  writeU16(out, udp, fields.sourcePort);
  writeU16(out, udp + 2, fields.destinationPort);
  writeU16(out, udp + 4, UDP_HEADER_BYTES + payloadLength);
  writeU16(out, udp + 6, 0);
  writeU16(out, udp + 6, udpChecksum(out, offset, UDP_HEADER_BYTES + payloadLength));
  return total;
}
