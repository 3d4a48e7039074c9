/**
 * Properties of a native peer's relays (native-relays.ts) under any interleaving of its packets
 * through two genuine relays and one spoofed one, answers to our tests through any of them,
 * forged answers, hostile bytes and time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PROBE_BURST, relayMatch } from '../../../src/teredo/native-relays.js';
import { bench, CLIENT_ADDRESS, echoReplyTo, ipv6Packet, NATIVE_HOST, SERVER_IPV4 } from './relay-harness.js';
import type { Bench, Sent } from './relay-harness.js';

const RELAYS = [
  { ipv4: 0xc6336465, port: 3545 }, // genuine: the network may route the host's packets through it
  { ipv4: 0xc6336466, port: 3545 }, // genuine
  { ipv4: 0xcb007101, port: 40000 }, // spoofed: never on the host's path, never sees our tests
] as const;
const SPOOFED = 2;

type Step =
  | { kind: 'data'; relay: number; mark: number }
  | { kind: 'reply'; relay: number; which: number }
  | { kind: 'forged'; relay: number; which: number; byte: number }
  | { kind: 'hostile'; relay: number; bytes: Uint8Array }
  | { kind: 'send' }
  | { kind: 'wait'; ms: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({ kind: fc.constant('data' as const), relay: fc.nat(2), mark: fc.nat(255) }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('reply' as const), relay: fc.nat(1), which: fc.nat() }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('forged' as const),
      relay: fc.nat(2),
      which: fc.nat(),
      byte: fc.integer({ min: 44, max: 65 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('hostile' as const),
      relay: fc.nat(2),
      bytes: fc.uint8Array({ maxLength: 120 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'send' as const }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 4000 }) }),
  },
);

/** The host's packet through relay `relay`: its payload names the relay, so deliveries can be traced. */
function dataThrough(relay: number, mark: number): Uint8Array {
  return ipv6Packet(NATIVE_HOST, CLIENT_ADDRESS, Uint8Array.of(0xa0 + relay, mark));
}

function relayOfDelivered(sent: Sent): number {
  if (sent.kind !== 'tun' || sent.bytes.length !== 42) return -1;
  return sent.bytes[40]! - 0xa0;
}

test('a spoofed relay is never accepted, packets through a validated relay are, memory stays bounded', () => {
  fc.assert(
    fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
      const b: Bench = bench();
      const pings: Uint8Array[] = [];
      let pingsInWindow = 0;
      let windowStart = b.nowMs;
      for (const item of steps) {
        const slot = b.slotOf(NATIVE_HOST);
        let sent: Sent[] = [];
        if (item.kind === 'data') {
          const relay = RELAYS[item.relay]!;
          const before = slot < 0 ? 'none' : relayMatch(b.table, slot, relay.ipv4, relay.port);
          sent = b.udp(dataThrough(item.relay, item.mark), relay.ipv4, relay.port);
          if (before !== 'none') {
            assert.ok(
              sent.some((out) => out.kind === 'tun' && relayOfDelivered(out) === item.relay),
              'a validated relay delivers at once',
            );
          }
        } else if (item.kind === 'reply' && pings.length > 0) {
          const relay = RELAYS[item.relay]!;
          sent = b.udp(echoReplyTo(pings[item.which % pings.length]!), relay.ipv4, relay.port);
          // A genuine answer may start the count again (it validates a relay).
          windowStart = b.nowMs;
          pingsInWindow = 0;
        } else if (item.kind === 'forged' && pings.length > 0) {
          const relay = RELAYS[item.relay]!;
          const forged = echoReplyTo(pings[item.which % pings.length]!);
          forged[item.byte] = forged[item.byte]! ^ 0x01;
          sent = b.udp(forged, relay.ipv4, relay.port);
        } else if (item.kind === 'hostile') {
          const relay = RELAYS[item.relay]!;
          sent = b.udp(item.bytes, relay.ipv4, relay.port);
        } else if (item.kind === 'send') {
          sent = b.tun(ipv6Packet(CLIENT_ADDRESS, NATIVE_HOST, Uint8Array.of(1)));
          for (const out of sent) {
            if (out.kind === 'udp' && out.ipv4 !== SERVER_IPV4) {
              assert.ok(
                RELAYS.slice(0, SPOOFED).some((r) => r.ipv4 === out.ipv4 && r.port === out.port),
                'we only ever send through a genuine relay',
              );
            }
          }
        } else if (item.kind === 'wait') {
          b.advance(item.ms);
        }
        for (const out of sent) {
          assert.notEqual(
            relayOfDelivered(out),
            SPOOFED,
            'nothing through the spoofed relay reaches the TUN device',
          );
          if (out.kind === 'udp' && out.ipv4 === SERVER_IPV4) {
            pings.push(out.bytes.slice());
            pingsInWindow += 1;
          }
        }
        const now = b.slotOf(NATIVE_HOST);
        if (now >= 0) {
          const spoofed = RELAYS[SPOOFED];
          assert.equal(relayMatch(b.table, now, spoofed.ipv4, spoofed.port), 'none');
        }
        if (b.nowMs - windowStart >= 2_000) {
          windowStart = b.nowMs;
          pingsInWindow = 0;
        }
        // Spoofed packets draw at most one burst per ping interval (or per genuine answer).
        assert.ok(pingsInWindow <= PROBE_BURST + 1, `${pingsInWindow} pings within 2 s`);
        const stats = b.core.stats();
        assert.ok(stats.peers <= 2 && stats.queuedBytes <= 1280, JSON.stringify(stats));
      }
    }),
    { numRuns: 300 },
  );
});
