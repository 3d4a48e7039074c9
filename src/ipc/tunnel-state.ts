/**
 * The tunnel state the control plane publishes to the data-plane workers: a few Int32 words in
 * shared memory (see tunnel-shared.ts for where they sit).
 *
 *   word 0  sequence   seqlock: odd while the control plane rewrites words 1..7
 *   word 1  flags      TUNNEL_ACTIVE: client qualified / relay running
 *   word 2  prefix     the Teredo prefix (client: of its address; relay: configured)
 *   word 3  server     client: its server's IPv4 (datagrams from it always take the slow path)
 *   word 4  mapped     client: its mapped IPv4 (diagnostics)
 *   word 5  port       client: its mapped port (diagnostics)
 *   word 6  mtu        the tunnel MTU
 *   word 7  generation bumped on each publish (a new identity resets the peer table)
 *   word 8  clock      coarse clock, whole seconds, stored on its own (no seqlock): the time
 *                      base of the peer table's timestamps, shared by every thread
 *
 * One writer (the control plane). Readers copy words 1..7 under the seqlock into a snapshot.
 */

export const TUNNEL_STATE_BYTES = 64;
export const TUNNEL_ACTIVE = 1;

const SEQUENCE = 0;
const FLAGS = 1;
const PREFIX = 2;
const SERVER = 3;
const MAPPED_IPV4 = 4;
const MAPPED_PORT = 5;
const MTU = 6;
const GENERATION = 7;
const CLOCK = 8;

export interface TunnelStateFields {
  readonly active: boolean;
  readonly prefix: number;
  readonly serverIPv4: number;
  readonly mappedIPv4: number;
  readonly mappedPort: number;
  readonly mtu: number;
}

/** A reader's reusable copy (one per worker). */
export interface TunnelSnapshot {
  active: boolean;
  prefix: number;
  serverIPv4: number;
  mappedIPv4: number;
  mappedPort: number;
  mtu: number;
  generation: number;
}

export function createTunnelSnapshot(): TunnelSnapshot {
  return { active: false, prefix: 0, serverIPv4: 0, mappedIPv4: 0, mappedPort: 0, mtu: 0, generation: 0 };
}

export interface TunnelState {
  /** Writer: replaces words 1..6 and bumps the generation. */
  publish(fields: TunnelStateFields): void;
  /** Writer: the coarse clock (whole seconds). */
  setClock(seconds: number): void;
  /** Any thread. */
  clock(): number;
  /** Any thread: a consistent copy of words 1..7 into `out`. */
  read(out: TunnelSnapshot): void;
}

export function tunnelStateOver(buffer: SharedArrayBuffer, byteOffset: number): TunnelState {
  if (byteOffset % 4 !== 0 || byteOffset + TUNNEL_STATE_BYTES > buffer.byteLength) {
    throw new RangeError(`no room for the tunnel state at byte ${byteOffset}`);
  }
  const words = new Int32Array(buffer, byteOffset, TUNNEL_STATE_BYTES / 4);
  return {
    publish(fields: TunnelStateFields): void {
      const sequence = Atomics.load(words, SEQUENCE);
      Atomics.store(words, SEQUENCE, (sequence + 1) | 0);
      Atomics.store(words, FLAGS, fields.active ? TUNNEL_ACTIVE : 0);
      Atomics.store(words, PREFIX, fields.prefix | 0);
      Atomics.store(words, SERVER, fields.serverIPv4 | 0);
      Atomics.store(words, MAPPED_IPV4, fields.mappedIPv4 | 0);
      Atomics.store(words, MAPPED_PORT, fields.mappedPort | 0);
      Atomics.store(words, MTU, fields.mtu | 0);
      Atomics.store(words, GENERATION, (Atomics.load(words, GENERATION) + 1) | 0);
      Atomics.store(words, SEQUENCE, (sequence + 2) | 0);
    },
    setClock(seconds: number): void {
      Atomics.store(words, CLOCK, seconds | 0);
    },
    clock(): number {
      return Atomics.load(words, CLOCK) >>> 0;
    },
    read(out: TunnelSnapshot): void {
      for (;;) {
        const before = Atomics.load(words, SEQUENCE);
        if ((before & 1) !== 0) continue;
        out.active = (Atomics.load(words, FLAGS) & TUNNEL_ACTIVE) !== 0;
        out.prefix = Atomics.load(words, PREFIX) >>> 0;
        out.serverIPv4 = Atomics.load(words, SERVER) >>> 0;
        out.mappedIPv4 = Atomics.load(words, MAPPED_IPV4) >>> 0;
        out.mappedPort = Atomics.load(words, MAPPED_PORT) & 0xffff;
        out.mtu = Atomics.load(words, MTU) >>> 0;
        out.generation = Atomics.load(words, GENERATION) >>> 0;
        if (Atomics.load(words, SEQUENCE) === before) return;
      }
    },
  };
}
