/**
 * The client's and relay's tunnel core (src/teredo/relay.ts) and the workers' fast path, fed
 * mutated datagrams from mutated sources and mutated TUN packets, with a clock that moves on and
 * the once-a-second tick. Invariants: nothing throws; every packet it sends fits a UDP datagram,
 * every packet it writes to the TUN device is one whole IPv6 packet; counters stay whole numbers.
 */
import { createTunnelSnapshot } from '../../../src/ipc/tunnel-state.js';
import { fastPathFromTun, fastPathFromUdp } from '../../../src/teredo/fast-path.js';
import type { FastPathContext } from '../../../src/teredo/fast-path.js';
import { createPeerSnapshot, createPeerTable } from '../../../src/teredo/peers.js';
import type { PeerTable } from '../../../src/teredo/peers.js';
import { createTunnelCore } from '../../../src/teredo/relay.js';
import type { TunnelCore, TunnelOutput } from '../../../src/teredo/relay.js';
import { createSecurityContext } from '../../../src/teredo/security.js';
import { TUNNEL_COUNTER_NAMES } from '../../../src/teredo/tunnel-counters.js';
import { mutateBytes } from '../mutate-bytes.js';
import {
  CLIENT_ADDRESS,
  MAPPED_IPV4,
  MAPPED_PORT,
  PREFIX,
  SERVER_IPV4,
  sourceOf,
  tunnelDatagrams,
  tunnelTunPackets,
} from '../seeds.js';
import { BYTES_CODEC, invariant } from '../target.js';
import type { FuzzTarget } from '../target.js';

const CAPACITY = 1024;
const KEY = Uint8Array.from({ length: 16 }, (_, i) => i * 7);

interface Bench {
  readonly core: TunnelCore;
  readonly table: PeerTable;
  readonly counters: Float64Array;
  readonly fastPath: FastPathContext;
  nowMs: number;
  inputs: number;
}

function checkingOutput(outcome: { udp: number; tun: number }): TunnelOutput {
  return {
    sendUdp(bytes, offset, length, ipv4, port): void {
      invariant(offset >= 0 && length > 0 && offset + length <= bytes.length, 'UDP region inside its buffer');
      invariant(length <= 65507, `UDP payload of ${length} bytes`);
      invariant(ipv4 >>> 0 === ipv4 && port >= 0 && port <= 65535, 'UDP destination is a uint32 and a port');
      outcome.udp++;
    },
    writeTun(bytes, offset, length): void {
      invariant(
        offset >= 0 && length >= 40 && offset + length <= bytes.length,
        'TUN region inside its buffer',
      );
      invariant((bytes[offset] ?? 0) >>> 4 === 6, 'TUN packet is IPv6');
      const payload = ((bytes[offset + 4] ?? 0) << 8) | (bytes[offset + 5] ?? 0);
      invariant(40 + payload === length, 'TUN packet length matches its payload length');
      outcome.tun++;
    },
  };
}

function createBench(role: 'client' | 'relay'): Bench {
  const table = createPeerTable(CAPACITY, 11);
  const counters = new Float64Array(TUNNEL_COUNTER_NAMES.length);
  const core = createTunnelCore({
    role,
    cone: role === 'relay',
    prefix: PREFIX,
    table,
    security: createSecurityContext(KEY, 0x4242),
    counters,
  });
  const state = createTunnelSnapshot();
  state.active = true;
  state.prefix = PREFIX;
  state.serverIPv4 = role === 'client' ? SERVER_IPV4 : 0;
  state.mappedIPv4 = role === 'client' ? MAPPED_IPV4 : 0;
  state.mappedPort = role === 'client' ? MAPPED_PORT : 0;
  state.mtu = 1280;
  if (role === 'client')
    core.setClientIdentity({ address: CLIENT_ADDRESS, serverIPv4: SERVER_IPV4, mtu: 1280 });
  return {
    core,
    table,
    counters,
    fastPath: {
      relay: role === 'relay',
      table,
      state,
      peer: createPeerSnapshot(),
      now: 1000,
      validitySeconds: 30,
    },
    nowMs: 1_000_000,
    inputs: 0,
  };
}

/** Which counters moved, and what went out: the input's outcome. */
function signature(
  before: Float64Array,
  after: Float64Array,
  outcome: { udp: number; tun: number },
  fast: number,
): string {
  let moved = '';
  for (let i = 0; i < after.length; i++) {
    const value = after[i] ?? 0;
    invariant(Number.isInteger(value) && value >= 0, `counter ${TUNNEL_COUNTER_NAMES[i]} is ${value}`);
    if (value !== before[i]) moved += `${i},`;
  }
  return `${moved}|u${Math.min(outcome.udp, 3)}t${Math.min(outcome.tun, 3)}f${fast}`;
}

function advance(bench: Bench, input: Uint8Array): void {
  bench.inputs++;
  bench.nowMs += (input.length & 7) * 250;
  bench.fastPath.now = Math.floor(bench.nowMs / 1000);
  if (bench.inputs % 16 === 0) bench.core.tick(bench.nowMs);
}

function tunnelTarget(role: 'client' | 'relay', from: 'udp' | 'tun'): FuzzTarget<Uint8Array> {
  let bench = createBench(role);
  const before = new Float64Array(TUNNEL_COUNTER_NAMES.length);
  return {
    name: `tunnel-${role}-${from}`,
    codec: BYTES_CODEC,
    seeds: () => (from === 'udp' ? tunnelDatagrams() : tunnelTunPackets()),
    mutate: (seed, random, corpus) => mutateBytes(seed, random, corpus),
    reset(): void {
      bench = createBench(role);
    },
    run(input): string {
      advance(bench, input);
      before.set(bench.counters);
      const outcome = { udp: 0, tun: 0 };
      const out = checkingOutput(outcome);
      const wall = 0x60000000 + Math.floor(bench.nowMs / 1000);
      let fast: number;
      if (from === 'udp') {
        const { ipv4, port, offset } = sourceOf(input);
        fast = fastPathFromUdp(bench.fastPath, input, offset, input.length - offset, ipv4, port) >= 0 ? 1 : 0;
        bench.core.fromUdp(input, offset, input.length - offset, ipv4, port, bench.nowMs, wall, out);
      } else {
        fast = fastPathFromTun(bench.fastPath, input, 0, input.length) >= 0 ? 1 : 0;
        bench.core.fromTun(input, 0, input.length, bench.nowMs, wall, out);
      }
      invariant(bench.table.size() <= CAPACITY, 'peer table within its capacity');
      return signature(before, bench.counters, outcome, fast);
    },
  };
}

export const TUNNEL_TARGETS: readonly FuzzTarget<Uint8Array>[] = [
  tunnelTarget('client', 'udp'),
  tunnelTarget('client', 'tun'),
  tunnelTarget('relay', 'udp'),
  tunnelTarget('relay', 'tun'),
];
