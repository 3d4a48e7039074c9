/**
 * Issue 11, finding 8: a client flooded with spoofed self-consistent Teredo sources (each
 * datagram's outer IPv4 source and port are the mapping its Teredo source address embeds, which
 * RFC 4380 accepts as a trusted peer). Before the fix every such source became a trusted peer
 * that nothing could evict: with 64 slots, 5,000 of them kept a new peer out for 31 s.
 *
 * Here, at 64 slots and at the default capacity (1,048,576 peers, flooded with more sources than
 * that), over 10 simulated seconds with the expiry tick: peers that proved two-way traffic (a
 * Teredo peer that answered our bubbles with our interface ID, a native host that answered our
 * ping) carry every packet both ways; a new Teredo peer the local side reaches in the middle of
 * the flood gets a slot at once, stays while it is pending, and carries traffic as soon as it
 * answers; the flood holds at most half the table; an unproven peer that keeps talking keeps
 * its slot wherever the flood leaves it more than a second to live (the second chance).
 * Sans-I/O: the output keeps copies only of what goes to or comes from the watched peers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeTeredoAddress } from '../../../src/teredo/address.js';
import { DEFAULT_PEER_CAPACITY } from '../../../src/teredo/constants.js';
import { PEER_TRUSTED, PEER_UNPROVEN, unprovenLimit } from '../../../src/teredo/peers.js';
import type { TunnelOutput } from '../../../src/teredo/relay.js';
import {
  bench,
  bubble,
  CLIENT_ADDRESS,
  echoReplyTo,
  ipv6Packet,
  NATIVE_HOST,
  ourBubbleSource,
  PEER_ADDRESS,
  PEER_IPV4,
  PEER_PORT,
  PREFIX,
  RELAY_IPV4,
  RELAY_PORT,
  SERVER_IPV4,
} from './relay-harness.js';
import type { Bench } from './relay-harness.js';

const FLOOD_SECONDS = 10;
const FLOOD_SERVER = 0xc0000201; // 192.0.2.1

/** A new Teredo peer, mapped at 203.0.113.88:41000, and an unsolicited one that keeps talking. */
const NEW_IPV4 = 0xcb007158;
const NEW_PORT = 41000;
const NEW_PEER = encodeTeredoAddress({
  prefix: PREFIX,
  server: FLOOD_SERVER,
  flags: 0,
  port: NEW_PORT,
  client: NEW_IPV4,
});
const TALKER_IPV4 = 0xcb007163;
const TALKER_PORT = 42000;
const TALKER = encodeTeredoAddress({
  prefix: PREFIX,
  server: FLOOD_SERVER,
  flags: 0,
  port: TALKER_PORT,
  client: TALKER_IPV4,
});

function sameBytes(bytes: Uint8Array, offset: number, other: Uint8Array): boolean {
  for (let index = 0; index < other.length; index++) if (bytes[offset + index] !== other[index]) return false;
  return true;
}

/** Counts everything; copies only datagrams to `watchedMappings` and TUN packets from `watchedSources`. */
class FloodOutput implements TunnelOutput {
  udp = 0;
  tun = 0;
  readonly sent: Array<{ ipv4: number; port: number; bytes: Uint8Array }> = [];
  readonly delivered: Uint8Array[] = [];

  constructor(
    private readonly watchedMappings: ReadonlyArray<readonly [number, number]>,
    private readonly watchedSources: readonly Uint8Array[],
  ) {}

  sendUdp(bytes: Uint8Array, offset: number, length: number, ipv4: number, port: number): void {
    this.udp++;
    if (this.watchedMappings.some(([a, p]) => a === ipv4 && p === port)) {
      this.sent.push({ ipv4, port, bytes: bytes.slice(offset, offset + length) });
    }
  }

  writeTun(bytes: Uint8Array, offset: number, length: number): void {
    this.tun++;
    if (this.watchedSources.some((source) => sameBytes(bytes, offset + 8, source))) {
      this.delivered.push(bytes.slice(offset, offset + length));
    }
  }

  take(): { sent: FloodOutput['sent']; delivered: Uint8Array[] } {
    return { sent: this.sent.splice(0), delivered: this.delivered.splice(0) };
  }
}

/** Spoofed datagram `index`: from a Teredo address whose embedded mapping is its outer source. */
class Flooder {
  private readonly source = new Uint8Array(16);
  private readonly datagram = ipv6Packet(this.source, CLIENT_ADDRESS, new Uint8Array(8));
  private readonly view = new DataView(this.datagram.buffer);
  private next = 0;

  send(b: Bench, out: FloodOutput, count: number): void {
    for (let end = this.next + count; this.next < end; this.next++) {
      const index = this.next;
      const ipv4 = (0xcb007100 | (index & 0xff)) >>> 0; // 203.0.113.x
      const port = 1024 + ((index >>> 8) % 64_000);
      const server = (0xc6336400 + Math.floor(index / (256 * 64_000))) >>> 0;
      encodeTeredoAddress({ prefix: PREFIX, server, flags: 0, port, client: ipv4 }, this.datagram, 8);
      this.view.setUint32(40, index);
      b.core.fromUdp(this.datagram, 0, this.datagram.length, ipv4, port, b.nowMs, b.wallSeconds, out);
    }
  }
}

for (const { capacity, flood } of [
  { capacity: 64, flood: 5_000 },
  { capacity: DEFAULT_PEER_CAPACITY, flood: DEFAULT_PEER_CAPACITY + DEFAULT_PEER_CAPACITY / 16 },
]) {
  test(`${capacity} slots, ${flood} spoofed self-consistent sources: proven peers keep working, a new peer gets a slot at once`, (t) => {
    const b = bench({ capacity });
    const ourLinkLocal = (ipv4: number, port: number): Uint8Array => ourBubbleSource(b.security, ipv4, port);

    // Established before the flood. A Teredo peer: the local side writes, we bubble, its reply
    // bubble comes back to our interface ID. A native host: our ping, its authenticated reply.
    const toPeer = ipv6Packet(CLIENT_ADDRESS, PEER_ADDRESS, Uint8Array.of(1));
    b.tun(toPeer);
    assert.equal(
      b.udp(bubble(PEER_ADDRESS, ourLinkLocal(PEER_IPV4, PEER_PORT)), PEER_IPV4, PEER_PORT).length,
      1,
    );
    const toHost = ipv6Packet(CLIENT_ADDRESS, NATIVE_HOST, Uint8Array.of(2));
    const [ping] = b.tun(toHost);
    assert.ok(ping?.kind === 'udp' && ping.ipv4 === SERVER_IPV4);
    assert.equal(b.udp(echoReplyTo(ping.bytes), RELAY_IPV4, RELAY_PORT).length, 1);
    assert.equal(b.counter('peers-proven'), 2);

    const out = new FloodOutput(
      [
        [PEER_IPV4, PEER_PORT],
        [RELAY_IPV4, RELAY_PORT],
        [NEW_IPV4, NEW_PORT],
      ],
      [PEER_ADDRESS, NATIVE_HOST, NEW_PEER, TALKER],
    );
    const fromPeer = ipv6Packet(PEER_ADDRESS, CLIENT_ADDRESS, Uint8Array.of(3));
    const fromHost = ipv6Packet(NATIVE_HOST, CLIENT_ADDRESS, Uint8Array.of(4));
    const fromTalker = ipv6Packet(TALKER, CLIENT_ADDRESS, Uint8Array.of(5));
    const toNew = ipv6Packet(CLIENT_ADDRESS, NEW_PEER, Uint8Array.of(6));
    const fromNew = ipv6Packet(NEW_PEER, CLIENT_ADDRESS, Uint8Array.of(7));
    const flooder = new Flooder();
    const perSecond = Math.ceil(flood / FLOOD_SECONDS);
    const limit = unprovenLimit(capacity);
    let lost = 0;
    let talkerEvictions = 0;
    let newPeerReached = Number.NaN;
    const started = performance.now();

    /** One exchange each way; returns how many of the two packets did not arrive. */
    const exchange = (to: Uint8Array, mapping: readonly [number, number], from: Uint8Array): number => {
      b.core.fromTun(to, 0, to.length, b.nowMs, b.wallSeconds, out);
      b.core.fromUdp(from, 0, from.length, mapping[0], mapping[1], b.nowMs, b.wallSeconds, out);
      const { sent, delivered } = out.take();
      const wentOut = sent.some((item) => item.ipv4 === mapping[0] && item.port === mapping[1]);
      const cameIn = delivered.some((packet) => sameBytes(packet, 0, from));
      return (wentOut ? 0 : 1) + (cameIn ? 0 : 1);
    };

    b.core.fromUdp(fromTalker, 0, fromTalker.length, TALKER_IPV4, TALKER_PORT, b.nowMs, b.wallSeconds, out);
    out.take();
    for (let second = 0; second < FLOOD_SECONDS; second++) {
      flooder.send(b, out, perSecond / 2);
      if (b.slotOf(TALKER) < 0) talkerEvictions++;
      b.core.fromUdp(fromTalker, 0, fromTalker.length, TALKER_IPV4, TALKER_PORT, b.nowMs, b.wallSeconds, out);
      assert.equal(out.take().delivered.length, 1, `second ${second}: the talker's packet is delivered`);
      lost += exchange(toPeer, [PEER_IPV4, PEER_PORT], fromPeer);
      lost += exchange(toHost, [RELAY_IPV4, RELAY_PORT], fromHost);

      if (second === FLOOD_SECONDS / 2) {
        // The local side reaches a new peer: queued, and bubbled at once (direct, and via its
        // server from our interface ID and from our address).
        const bubbles = b.counter('bubble-sent');
        b.core.fromTun(toNew, 0, toNew.length, b.nowMs, b.wallSeconds, out);
        assert.ok(b.slotOf(NEW_PEER) >= 0, 'the new peer got a slot');
        assert.equal(b.counter('drop-tx-table-full'), 0);
        assert.equal(b.counter('bubble-sent'), bubbles + 3, 'bubbled directly and through its server');
      }
      if (second === FLOOD_SECONDS / 2 + 1) {
        // A second of flood later it is still waiting for its answer, which then comes.
        assert.ok(b.slotOf(NEW_PEER) >= 0, 'the pending new peer survived a second of flood');
        out.take();
        b.core.fromUdp(
          bubble(NEW_PEER, ourLinkLocal(NEW_IPV4, NEW_PORT)),
          0,
          40,
          NEW_IPV4,
          NEW_PORT,
          b.nowMs,
          b.wallSeconds,
          out,
        );
        const { sent } = out.take();
        assert.deepEqual(
          sent,
          [{ ipv4: NEW_IPV4, port: NEW_PORT, bytes: toNew }],
          'the queued packet went out',
        );
        newPeerReached = second;
      }
      if (second > FLOOD_SECONDS / 2 + 1) lost += exchange(toNew, [NEW_IPV4, NEW_PORT], fromNew);

      flooder.send(b, out, perSecond / 2);
      assert.ok(b.table.size() <= capacity);
      assert.ok(b.table.unproven() <= limit, `${b.table.unproven()} unproven peers, at most ${limit}`);
      b.advance(1000);
      b.core.tick(b.nowMs);
    }
    const elapsedMs = performance.now() - started;

    t.diagnostic(
      `${capacity} slots: ${perSecond * FLOOD_SECONDS} spoofed sources in ${FLOOD_SECONDS} simulated s ` +
        `(${(elapsedMs / 1000).toFixed(1)} s of CPU); table ${b.table.size()} peers, ${b.table.unproven()} unproven (limit ${limit}); ` +
        `evicted ${b.counter('peers-evicted')}, refused ${b.counter('drop-rx-table-full') + b.counter('drop-tx-table-full')}; ` +
        `established peers lost ${lost} packets; the new peer had a slot at once and kept it through ${newPeerReached - FLOOD_SECONDS / 2} s of flood until it answered; ` +
        `the talker lost its slot ${talkerEvictions} times`,
    );
    assert.equal(lost, 0, 'every packet to and from the proven peers went through');
    assert.equal(newPeerReached, FLOOD_SECONDS / 2 + 1);
    assert.equal(b.counter('drop-tx-table-full'), 0);
    assert.equal(b.counter('drop-rx-table-full'), 0, 'each spoofed source evicted an older one instead');
    assert.ok(b.counter('peers-evicted') >= flood - limit, 'the flood only churned its own entries');
    assert.equal(b.counter('peers-proven'), 3);
    for (const address of [PEER_ADDRESS, NATIVE_HOST, NEW_PEER]) {
      assert.equal(b.table.flags(b.slotOf(address)) & (PEER_TRUSTED | PEER_UNPROVEN), PEER_TRUSTED);
    }
    // A talker heard every second keeps its slot when the flood turns the unproven half over more
    // slowly than that; at 64 slots it turns over many times a second, and the talker's packets
    // re-create it each time (delivered all the same, as checked above).
    if (capacity === DEFAULT_PEER_CAPACITY)
      assert.equal(talkerEvictions, 0, 'the second chance kept the talker');
  });
}
