/**
 * The tunnel core of a client under random floods (issue 11, finding 8), on small tables: spoofed
 * self-consistent datagrams and bubbles, spoofed native sources, bubbles from mismatched
 * mappings, interleaved with the local side reaching a few legitimate Teredo peers, their
 * answers (a reply bubble to our interface ID), traffic both ways and the clock. Whatever the
 * order: the local side never finds the table full, unproven peers never hold more than half of
 * it, and a peer that proved two-way traffic and keeps talking is never lost.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encodeTeredoAddress } from '../../../src/teredo/address.js';
import { PEER_TRUSTED, PEER_UNPROVEN, unprovenLimit } from '../../../src/teredo/peers.js';
import {
  bench,
  bubble,
  CLIENT_ADDRESS,
  ipv6Packet,
  ourBubbleSource,
  PEER_SERVER_IPV4,
  PREFIX,
  RELAY_IPV4,
  RELAY_PORT,
} from './relay-harness.js';
import type { Bench } from './relay-harness.js';

const PEERS = 3;
/** A peer that talks at least this often keeps its proof of life (validity is 30 s). */
const TALK_WITHIN_SECONDS = 25;

interface Mapping {
  readonly ipv4: number;
  readonly port: number;
  readonly address: Uint8Array;
}

function mappingFor(ipv4: number, port: number): Mapping {
  return {
    ipv4,
    port,
    address: encodeTeredoAddress({ prefix: PREFIX, server: PEER_SERVER_IPV4, flags: 0, port, client: ipv4 }),
  };
}

const legitimate = Array.from({ length: PEERS }, (_, i) => mappingFor(0xcb007150 + i, 45_000 + i));

type Step =
  | { readonly kind: 'spoof'; readonly how: 'data' | 'bubble' | 'native' | 'mismatch'; readonly id: number }
  | { readonly kind: 'reach' | 'answer' | 'talk'; readonly peer: number }
  | { readonly kind: 'tick'; readonly seconds: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.record({
      kind: fc.constant('spoof' as const),
      how: fc.constantFrom('data' as const, 'bubble' as const, 'native' as const, 'mismatch' as const),
      id: fc.nat({ max: 5000 }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constantFrom('reach' as const, 'answer' as const, 'talk' as const),
      peer: fc.nat({ max: PEERS - 1 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('tick' as const), seconds: fc.integer({ min: 1, max: 6 }) }),
  },
);

function spoof(b: Bench, how: 'data' | 'bubble' | 'native' | 'mismatch', id: number): void {
  const source = mappingFor((0xc0000200 | (id & 0xff)) >>> 0, 1024 + (id >>> 8));
  if (how === 'native') {
    const native = Uint8Array.of(0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, id >>> 8, id & 0xff);
    b.udp(ipv6Packet(native, CLIENT_ADDRESS), RELAY_IPV4, RELAY_PORT);
    return;
  }
  const packet =
    how === 'data' ? ipv6Packet(source.address, CLIENT_ADDRESS) : bubble(source.address, CLIENT_ADDRESS);
  b.udp(packet, source.ipv4, how === 'mismatch' ? source.port ^ 1 : source.port);
}

test('random floods: the local side always gets a slot, unproven peers stay within half, proven talkers stay', () => {
  fc.assert(
    fc.property(fc.constantFrom(8, 16, 24), fc.array(step, { maxLength: 300 }), (capacity, steps) => {
      const b = bench({ capacity });
      const proven = new Map<number, number>(); // peer -> last second it talked
      const seconds = (): number => Math.floor(b.nowMs / 1000);
      for (const event of steps) {
        switch (event.kind) {
          case 'spoof':
            spoof(b, event.how, event.id);
            break;
          case 'reach': {
            const peer = legitimate[event.peer]!;
            b.tun(ipv6Packet(CLIENT_ADDRESS, peer.address));
            assert.ok(b.slotOf(peer.address) >= 0, 'the local side got a slot');
            break;
          }
          case 'answer': {
            const peer = legitimate[event.peer]!;
            const solicited = b.slotOf(peer.address) >= 0;
            b.udp(
              bubble(peer.address, ourBubbleSource(b.security, peer.ipv4, peer.port)),
              peer.ipv4,
              peer.port,
            );
            const slot = b.slotOf(peer.address);
            if (solicited && (b.table.flags(slot) & (PEER_TRUSTED | PEER_UNPROVEN)) === PEER_TRUSTED) {
              proven.set(event.peer, seconds());
            }
            break;
          }
          case 'talk': {
            const peer = legitimate[event.peer]!;
            if (!proven.has(event.peer)) break;
            const to = ipv6Packet(CLIENT_ADDRESS, peer.address, Uint8Array.of(event.peer));
            const from = ipv6Packet(peer.address, CLIENT_ADDRESS, Uint8Array.of(event.peer));
            assert.deepEqual(b.tun(to), [{ kind: 'udp', bytes: to, ipv4: peer.ipv4, port: peer.port }]);
            assert.deepEqual(b.udp(from, peer.ipv4, peer.port), [{ kind: 'tun', bytes: from }]);
            proven.set(event.peer, seconds());
            break;
          }
          case 'tick':
            for (let s = 0; s < event.seconds; s++) {
              b.advance(1000);
              b.core.tick(b.nowMs);
            }
            for (const [peer, last] of proven)
              if (seconds() - last > TALK_WITHIN_SECONDS) proven.delete(peer);
            break;
        }
        assert.equal(b.counter('drop-tx-table-full'), 0);
        assert.ok(b.table.unproven() <= unprovenLimit(capacity), `${b.table.unproven()} unproven`);
        for (const peer of proven.keys()) {
          const slot = b.slotOf(legitimate[peer]!.address);
          assert.ok(slot >= 0, `proven peer ${peer} is still there`);
          assert.equal(b.table.flags(slot) & (PEER_TRUSTED | PEER_UNPROVEN), PEER_TRUSTED);
        }
      }
    }),
    { numRuns: 200 },
  );
});
