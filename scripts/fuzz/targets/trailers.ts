/**
 * RFC 6081 trailers (src/teredo/trailers.ts) and what the client does with them
 * (hairpinning.ts). Input: a scenario byte, then the trailer area of a bubble to our client,
 * delivered as our server relaying it from our own public IPv4 (scenario 0), from another public
 * IPv4 (1), or straight from a peer (2). Invariants: nothing throws; the parser's counts stay in
 * bounds; a datagram to a local address goes only in scenario 0, only to a private entry of the
 * trailer as parsed, and at most one per entry; nothing else but the RFC 4380 reply bubble.
 */
import { buildBubble, BUBBLE_BYTES } from '../../../src/teredo/bubble.js';
import { isPrivateIPv4 } from '../../../src/teredo/hairpinning.js';
import { createPeerTable } from '../../../src/teredo/peers.js';
import { createTunnelCore } from '../../../src/teredo/relay.js';
import type { TunnelCore } from '../../../src/teredo/relay.js';
import { createSecurityContext } from '../../../src/teredo/security.js';
import {
  createTrailers,
  parseTrailers,
  writeAlternateAddressTrailer,
  writeNeighborDiscoveryTrailer,
  writeNonceTrailer,
  writeRandomPortTrailer,
} from '../../../src/teredo/trailers.js';
import { TUNNEL_COUNTER_NAMES } from '../../../src/teredo/tunnel-counters.js';
import { writeOriginIndication } from '../../../src/teredo/wire.js';
import { mutateBytes } from '../mutate-bytes.js';
import { CLIENT_ADDRESS, MAPPED_IPV4, PEER_IPV4, PREFIX, SERVER_IPV4, TEREDO_PORT } from '../seeds.js';
import { BYTES_CODEC, invariant } from '../target.js';
import type { FuzzTarget } from '../target.js';

const LOCAL_IPV4 = 0x0a000002;
const NEIGHBOUR_PORT = 40001;
const NEIGHBOUR_LL = Uint8Array.from([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]);

function seeds(): Uint8Array[] {
  const area = new Uint8Array(64);
  let length = writeAlternateAddressTrailer(area, 0, [
    { ipv4: 0x0a000003, port: 20002 },
    { ipv4: 0xc0a80105, port: 3544 },
  ]);
  const one = Uint8Array.from([0, ...area.subarray(0, length)]);
  length += writeNonceTrailer(area, length, 0xdeadbeef);
  length += writeNeighborDiscoveryTrailer(area, length, 1);
  length += writeRandomPortTrailer(area, length, 40002);
  const all = area.subarray(0, length);
  return [one, Uint8Array.from([0, ...all]), Uint8Array.from([1, ...all]), Uint8Array.from([2, ...all])];
}

export function trailersTarget(): FuzzTarget<Uint8Array> {
  const trailers = createTrailers();
  const datagram = new Uint8Array(8 + BUBBLE_BYTES + 512);
  let core: TunnelCore;
  let nowMs = 0;
  const fresh = (): void => {
    core = createTunnelCore({
      role: 'client',
      cone: false,
      prefix: PREFIX,
      table: createPeerTable(64, 3),
      security: createSecurityContext(new Uint8Array(16).fill(5), 7),
      counters: new Float64Array(TUNNEL_COUNTER_NAMES.length),
    });
    core.setClientIdentity({
      address: CLIENT_ADDRESS,
      serverIPv4: SERVER_IPV4,
      mtu: 1280,
      localIPv4: LOCAL_IPV4,
      localPort: 20001,
    });
    nowMs = 1_000_000;
  };
  fresh();

  return {
    name: 'rfc6081-trailers',
    codec: BYTES_CODEC,
    seeds,
    mutate: (seed, random, corpus) => mutateBytes(seed, random, corpus),
    reset: fresh,
    run(input): string {
      const scenario = (input[0] ?? 0) % 3;
      const area = input.subarray(1, 1 + 512);
      const accepted = parseTrailers(area, 0, area.length, trailers);
      invariant(accepted >= 0 && accepted <= 4, `accepted ${accepted}`);
      invariant(trailers.alternateCount <= 4, 'at most 4 entries');
      const entries = new Set<string>();
      for (let i = 0; i < trailers.alternateCount; i++)
        entries.add(`${trailers.alternateIPv4[i]}:${trailers.alternatePort[i]}`);

      const origin = scenario === 1 ? PEER_IPV4 : MAPPED_IPV4;
      let at = 0;
      if (scenario !== 2) at += writeOriginIndication(datagram, 0, NEIGHBOUR_PORT, origin);
      at += buildBubble(datagram, at, { source: NEIGHBOUR_LL, destination: CLIENT_ADDRESS });
      datagram.set(area, at);
      const [fromIPv4, fromPort] =
        scenario === 2 ? [MAPPED_IPV4, NEIGHBOUR_PORT] : [SERVER_IPV4, TEREDO_PORT];
      const local: string[] = [];
      let others = 0;
      nowMs += (input.length % 4) * 700;
      core.fromUdp(datagram, 0, at + area.length, fromIPv4, fromPort, nowMs, 1, {
        sendUdp(_bytes, _offset, length, ipv4, port): void {
          if (isPrivateIPv4(ipv4)) {
            invariant(length === BUBBLE_BYTES, 'a hairpin bubble is a bare bubble');
            local.push(`${ipv4}:${port}`);
          } else others++;
        },
        writeTun(): void {
          throw new Error('a bubble reached the TUN device');
        },
      });
      invariant(local.length === 0 || scenario === 0, `a local datagram in scenario ${scenario}`);
      invariant(
        local.every((entry) => entries.has(entry)),
        'only to entries of the trailer',
      );
      invariant(new Set(local).size === local.length, 'one bubble per entry');
      invariant(others <= 1, 'nothing but the reply bubble to the origin');
      return `${scenario}:${accepted}:${local.length}:${trailers.unknown > 0 ? 'u' : ''}${trailers.malformed > 0 ? 'm' : ''}${trailers.truncated ? 't' : ''}`;
    },
  };
}
