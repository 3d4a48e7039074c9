/**
 * Test bench for the tunnel core (src/teredo/relay.ts): a core over a small real peer table, a
 * fake clock, a TunnelOutput that records copies of what it is given, and packet builders.
 * Imports only: no tests here.
 */
import assert from 'node:assert/strict';
import { encodeTeredoAddress, formatIPv6 } from '../../../src/teredo/address.js';
import { bubbleInterfaceId, createSecurityContext } from '../../../src/teredo/security.js';
import type { SecurityContext } from '../../../src/teredo/security.js';
import { createPeerTable } from '../../../src/teredo/peers.js';
import type { PeerTable } from '../../../src/teredo/peers.js';
import { createTunnelCore } from '../../../src/teredo/relay.js';
import type { TunnelCore, TunnelOutput } from '../../../src/teredo/relay.js';
import { TUNNEL_COUNTER_NAMES } from '../../../src/teredo/tunnel-counters.js';
import type { TunnelCounterName } from '../../../src/teredo/tunnel-counters.js';
import type { TeredoConstants } from '../../../src/teredo/constants.js';
import type { LocalLink } from '../../../src/teredo/local-discovery.js';
import { writeIPv6Header } from '../../../src/teredo/ipv6-header.js';
import { buildBubble } from '../../../src/teredo/bubble.js';
import { buildEcho } from '../../../src/teredo/echo.js';
import { verifyIcmpv6Checksum } from '../../../src/teredo/icmpv6-message.js';
import { writeAuthHeader, writeOriginIndication } from '../../../src/teredo/wire.js';
import { address, CLIENT_ADDRESS, MAPPED_IPV4, MAPPED_PORT, SERVER_IPV4 } from './fixtures.js';

export { address, CLIENT_ADDRESS, MAPPED_IPV4, MAPPED_PORT, SERVER_IPV4 };

export const PREFIX = 0x20010000;
export const TEREDO_PORT = 3544;
/** Wall clock of the fake clock's origin (any value: only differences matter). */
export const WALL_ORIGIN = 0x12345678;
/** The security.ts test key (00 01 .. 0f) and pid, so the reference vectors apply. */
export const KEY = Uint8Array.from({ length: 16 }, (_, i) => i);
export const PID16 = 0x1234;

/** A Teredo peer: server 192.0.2.1, mapped 203.0.113.77:50000 (restricted, flags 0x0123). */
export const PEER_SERVER_IPV4 = 0xc0000201;
export const PEER_IPV4 = 0xcb00714d;
export const PEER_PORT = 50000;
export const PEER_ADDRESS = encodeTeredoAddress({
  prefix: PREFIX,
  server: PEER_SERVER_IPV4,
  flags: 0x0123,
  port: PEER_PORT,
  client: PEER_IPV4,
});
/** A native IPv6 host and the relay (outer source) that serves it. */
export const NATIVE_HOST = address('2001:db8::1');
export const RELAY_IPV4 = 0xc6336465; // 198.51.100.101
export const RELAY_PORT = 3545;
/** A host on the relay's side of the tunnel (the relay's TUN sources). */
export const RELAY_SIDE_HOST = address('2001:db8:1::5');

export type Sent =
  | { readonly kind: 'udp'; readonly bytes: Uint8Array; readonly ipv4: number; readonly port: number }
  | { readonly kind: 'tun'; readonly bytes: Uint8Array };

export interface RecordingOutput extends TunnelOutput {
  readonly sent: Sent[];
  /** Returns and forgets what was sent so far. */
  take(): Sent[];
}

export function recordingOutput(): RecordingOutput {
  const sent: Sent[] = [];
  return {
    sent,
    sendUdp(bytes, offset, length, ipv4, port): void {
      assert.ok(offset >= 0 && length > 0 && offset + length <= bytes.length, 'udp region inside the buffer');
      sent.push({ kind: 'udp', bytes: bytes.slice(offset, offset + length), ipv4, port });
    },
    writeTun(bytes, offset, length): void {
      assert.ok(offset >= 0 && length > 0 && offset + length <= bytes.length, 'tun region inside the buffer');
      sent.push({ kind: 'tun', bytes: bytes.slice(offset, offset + length) });
    },
    take(): Sent[] {
      return sent.splice(0, sent.length);
    },
  };
}

export interface Bench {
  readonly core: TunnelCore;
  readonly table: PeerTable;
  readonly security: SecurityContext;
  readonly counters: Float64Array;
  readonly out: RecordingOutput;
  /** Fake monotonic clock, milliseconds. */
  nowMs: number;
  readonly wallSeconds: number;
  /** Moves the clock on by `ms`. */
  advance(ms: number): void;
  tun(packet: Uint8Array): Sent[];
  udp(datagram: Uint8Array, ipv4: number, port: number): Sent[];
  /** What the core has due now (TunnelCore.sendDue). */
  due(): Sent[];
  counter(name: TunnelCounterName): number;
  /** Every non-zero counter, by name. */
  nonZeroCounters(): Record<string, number>;
  /** The peer's slot in the table, -1 if absent. */
  slotOf(address16: Uint8Array): number;
}

export interface BenchOptions {
  readonly role?: 'client' | 'relay';
  readonly cone?: boolean;
  /** Relay: SharedRelayAddress (shared-relay-address.ts). */
  readonly sharedAddress?: boolean;
  readonly capacity?: number;
  /** Client: qualify at once with CLIENT_ADDRESS (default true). */
  readonly qualified?: boolean;
  readonly constants?: TeredoConstants;
  readonly startMs?: number;
  /** Client: run local discovery on this link (local-discovery.ts). */
  readonly localLink?: LocalLink;
  /** Local discovery's spread of its announcements. */
  readonly random?: () => number;
}

export function bench(options: BenchOptions = {}): Bench {
  const role = options.role ?? 'client';
  const table = createPeerTable(options.capacity ?? 64, 7);
  const security = createSecurityContext(KEY, PID16);
  const counters = new Float64Array(TUNNEL_COUNTER_NAMES.length);
  const core = createTunnelCore({
    role,
    cone: options.cone ?? false,
    prefix: PREFIX,
    table,
    security,
    counters,
    ...(options.constants === undefined ? {} : { constants: options.constants }),
    ...(options.sharedAddress === undefined ? {} : { sharedAddress: options.sharedAddress }),
    ...(options.localLink === undefined ? {} : { localLink: options.localLink }),
    ...(options.random === undefined ? {} : { random: options.random }),
  });
  const out = recordingOutput();
  const state: Bench = {
    core,
    table,
    security,
    counters,
    out,
    nowMs: options.startMs ?? 1_000_000,
    get wallSeconds(): number {
      return WALL_ORIGIN + Math.floor(state.nowMs / 1000);
    },
    advance(ms: number): void {
      state.nowMs += ms;
    },
    tun(packet: Uint8Array): Sent[] {
      core.fromTun(packet, 0, packet.length, state.nowMs, state.wallSeconds, out);
      return out.take();
    },
    udp(datagram: Uint8Array, ipv4: number, port: number): Sent[] {
      core.fromUdp(datagram, 0, datagram.length, ipv4, port, state.nowMs, state.wallSeconds, out);
      return out.take();
    },
    due(): Sent[] {
      core.sendDue(state.nowMs, out);
      return out.take();
    },
    counter(name: TunnelCounterName): number {
      return counters[TUNNEL_COUNTER_NAMES.indexOf(name)] ?? Number.NaN;
    },
    nonZeroCounters(): Record<string, number> {
      const result: Record<string, number> = {};
      TUNNEL_COUNTER_NAMES.forEach((name, index) => {
        if (counters[index] !== 0) result[name] = counters[index]!;
      });
      return result;
    },
    slotOf(address16: Uint8Array): number {
      return table.find(address16, 0);
    },
  };
  if (role === 'client' && options.qualified !== false) {
    core.setClientIdentity({ address: CLIENT_ADDRESS, serverIPv4: SERVER_IPV4, mtu: 1280 });
  }
  return state;
}

/** An IPv6 packet from `source` to `destination` carrying `payload` (next header 17 by default). */
export function ipv6Packet(
  source: Uint8Array,
  destination: Uint8Array,
  payload: Uint8Array = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]),
  nextHeader = 17,
): Uint8Array {
  const packet = new Uint8Array(40 + payload.length);
  writeIPv6Header(packet, 0, {
    payloadLength: payload.length,
    nextHeader,
    hopLimit: 64,
    source,
    destination,
  });
  packet.set(payload, 40);
  return packet;
}

/** A packet whose payload is `size - 40` bytes of `fill`. */
export function sizedPacket(
  source: Uint8Array,
  destination: Uint8Array,
  size: number,
  fill = 0xab,
): Uint8Array {
  return ipv6Packet(source, destination, new Uint8Array(size - 40).fill(fill));
}

export function bubble(source: Uint8Array, destination: Uint8Array): Uint8Array {
  const out = new Uint8Array(40);
  buildBubble(out, 0, { source, destination });
  return out;
}

export function withOrigin(packet: Uint8Array, port: number, ipv4: number): Uint8Array {
  const out = new Uint8Array(8 + packet.length);
  writeOriginIndication(out, 0, port, ipv4);
  out.set(packet, 8);
  return out;
}

export function withAuth(packet: Uint8Array): Uint8Array {
  const out = new Uint8Array(13 + packet.length);
  writeAuthHeader(out, 0, { nonce: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]) });
  out.set(packet, 13);
  return out;
}

/** The Echo Reply the pinged host sends back for our ping (its bytes as sent). */
export function echoReplyTo(ping: Uint8Array): Uint8Array {
  const out = new Uint8Array(ping.length);
  buildEcho(out, 0, {
    kind: 'reply',
    source: ping.subarray(24, 40),
    destination: ping.subarray(8, 24),
    hopLimit: 60,
    identifier: (ping[44]! << 8) | ping[45]!,
    sequence: (ping[46]! << 8) | ping[47]!,
    data: ping.subarray(48),
  });
  return out;
}

/** fe80::<the interface ID our bubbles carry for the mapping ipv4:port>. */
export function ourBubbleSource(security: SecurityContext, ipv4: number, port: number): Uint8Array {
  const source = new Uint8Array(16);
  source[0] = 0xfe;
  source[1] = 0x80;
  bubbleInterfaceId(security, ipv4, port, source, 8);
  return source;
}

export function udp(sent: Sent | undefined): Extract<Sent, { kind: 'udp' }> {
  assert.ok(
    sent !== undefined && sent.kind === 'udp',
    `expected a UDP datagram, got ${JSON.stringify(sent?.kind)}`,
  );
  return sent;
}

export function tun(sent: Sent | undefined): Extract<Sent, { kind: 'tun' }> {
  assert.ok(
    sent !== undefined && sent.kind === 'tun',
    `expected a TUN write, got ${JSON.stringify(sent?.kind)}`,
  );
  return sent;
}

export function sourceOf(packet: Uint8Array): string {
  return formatIPv6(packet, 8);
}

export function destinationOf(packet: Uint8Array): string {
  return formatIPv6(packet, 24);
}

/** `sent` is our ICMPv6 Destination Unreachable about `offending`, written to the TUN device. */
export function assertUnreachable(sent: Sent | undefined, code: number, offending: Uint8Array): void {
  const error = tun(sent).bytes;
  assert.equal(error[0]! >>> 4, 6);
  assert.equal(error[6], 58, 'next header ICMPv6');
  assert.equal(sourceOf(error), destinationOf(offending), 'from the unreachable destination');
  assert.equal(destinationOf(error), sourceOf(offending), 'to the offending source');
  assert.equal(error[40], 1, 'type 1');
  assert.equal(error[41], code, 'code');
  assert.deepEqual([...error.subarray(44, 48)], [0, 0, 0, 0]);
  const quoted = Math.min(offending.length, 1232);
  assert.equal(error.length, 48 + quoted);
  assert.deepEqual(error.subarray(48), offending.subarray(0, quoted));
  assert.equal(verifyIcmpv6Checksum(error, 0), true, 'checksum');
}
