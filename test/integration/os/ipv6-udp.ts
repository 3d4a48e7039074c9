/** Building and checking IPv6/UDP packets for the TUN scenarios (independent of src/teredo). */
import { ipv6Bytes } from '../../support/inet.js';

export interface Ipv6Udp {
  readonly source: string;
  readonly destination: string;
  readonly sourcePort: number;
  readonly destinationPort: number;
  readonly payload: Uint8Array;
}

function sum16(bytes: Uint8Array, start: number, end: number): number {
  let sum = 0;
  for (let i = start; i < end; i += 2) sum += (bytes[i]! << 8) | (i + 1 < end ? bytes[i + 1]! : 0);
  return sum;
}

/** The UDP checksum over the pseudo-header of the packet's own addresses; 0 when the stored one is right. */
function udpChecksum(packet: Uint8Array): number {
  const udpLength = packet.length - 40;
  let sum = sum16(packet, 8, 40) + udpLength + 17 + sum16(packet, 40, packet.length);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export function buildIpv6Udp(spec: Ipv6Udp): Uint8Array {
  const udpLength = 8 + spec.payload.length;
  const packet = new Uint8Array(40 + udpLength);
  const view = new DataView(packet.buffer);
  view.setUint32(0, 0x60000000);
  view.setUint16(4, udpLength);
  packet[6] = 17;
  packet[7] = 64;
  packet.set(ipv6Bytes(spec.source), 8);
  packet.set(ipv6Bytes(spec.destination), 24);
  view.setUint16(40, spec.sourcePort);
  view.setUint16(42, spec.destinationPort);
  view.setUint16(44, udpLength);
  packet.set(spec.payload, 48);
  view.setUint16(46, udpChecksum(packet) || 0xffff);
  return packet;
}

/** Parses an IPv6 packet carrying UDP directly; undefined for anything else. */
export function parseIpv6Udp(
  packet: Uint8Array,
): (Ipv6Udp & { readonly checksumValid: boolean }) | undefined {
  if (packet.length < 48 || packet[0]! >> 4 !== 6 || packet[6] !== 17) return undefined;
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  if (40 + view.getUint16(4) !== packet.length) return undefined;
  const text = (offset: number): string => {
    const groups: string[] = [];
    for (let i = 0; i < 8; i++) groups.push(view.getUint16(offset + 2 * i).toString(16));
    return groups.join(':');
  };
  return {
    source: text(8),
    destination: text(24),
    sourcePort: view.getUint16(40),
    destinationPort: view.getUint16(42),
    payload: packet.slice(48),
    checksumValid: udpChecksum(packet) === 0,
  };
}

/** Full (uncompressed) text of an address, as parseIpv6Udp reports it. */
export function fullIpv6(text: string): string {
  const bytes = ipv6Bytes(text);
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return groups.join(':');
}
