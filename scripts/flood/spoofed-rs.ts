/**
 * A pool of Router Solicitations from spoofed sources, ready for sendUdpBatch on a raw IPv4
 * socket: each slot holds a whole IPv4/UDP packet (random source in 203.0.113.0/24 or
 * 192.0.2.0/24, random port, random nonce in the authentication header) addressed to the
 * server's port 3544. The flooder cycles through the pool, so building costs nothing per send.
 */
import { randomBytes } from 'node:crypto';
import { createPacketBatch, slotOffset } from '../../src/os/packet-batch.js';
import type { PacketBatch } from '../../src/os/packet-batch.js';
import { TEREDO_CONSTANTS, WIRE_SIZE } from '../../src/teredo/constants.js';
import { parseIPv4 } from '../../src/teredo/ipv4.js';
import {
  buildRouterSolicitation,
  ROUTER_SOLICITATION_DATAGRAM_BYTES,
} from '../../src/teredo/router-solicitation.js';
import { IPV4_UDP_HEADER_BYTES, writeIpv4UdpHeaders } from './ipv4-udp.js';

/** The /24 networks the spoofed sources come from (global unicast for Teredo, documentation-only). */
export const SPOOFED_SOURCE_NETWORKS: readonly string[] = Object.freeze(['203.0.113.0', '192.0.2.0']);

export const SPOOFED_RS_PACKET_BYTES = IPV4_UDP_HEADER_BYTES + ROUTER_SOLICITATION_DATAGRAM_BYTES;

const NETWORKS = SPOOFED_SOURCE_NETWORKS.map((text) => parseIPv4(text) ?? 0);
const RANDOM_BYTES_PER_PACKET = 6 + WIRE_SIZE.nonce; // network, host, port (2), identification (2), nonce
const LOWEST_PORT = 1024;

/** Whether `ipv4` lies in one of the spoofed source networks. */
export function isSpoofedSource(ipv4: number): boolean {
  return NETWORKS.some((network) => ipv4 >>> 8 === network >>> 8);
}

/** `count` slots of spoofed Router Solicitations to serverIPv4:serverPort (uint32 address). */
export function buildSpoofedRsPool(
  count: number,
  serverIPv4: number,
  serverPort: number = TEREDO_CONSTANTS.port,
): PacketBatch {
  const pool = createPacketBatch(count, SPOOFED_RS_PACKET_BYTES);
  const random = randomBytes(count * RANDOM_BYTES_PER_PACKET);
  for (let i = 0; i < count; i++) {
    const r = i * RANDOM_BYTES_PER_PACKET;
    const network = NETWORKS[random[r]! % NETWORKS.length]!;
    const source = (network | (1 + (random[r + 1]! % 254))) >>> 0;
    const sourcePort = LOWEST_PORT + (random.readUInt16BE(r + 2) % (0x10000 - LOWEST_PORT));
    const offset = slotOffset(pool, i);
    const payload = buildRouterSolicitation(pool.data, offset + IPV4_UDP_HEADER_BYTES, {
      nonce: random.subarray(r + 6, r + 6 + WIRE_SIZE.nonce),
    });
    pool.lengths[i] = writeIpv4UdpHeaders(pool.data, offset, payload, {
      source,
      destination: serverIPv4,
      sourcePort,
      destinationPort: serverPort,
      identification: random.readUInt16BE(r + 4),
    });
    pool.addresses[i] = serverIPv4;
    pool.ports[i] = serverPort;
  }
  return pool;
}
