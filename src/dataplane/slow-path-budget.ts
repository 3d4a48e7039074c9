/**
 * How many packets a data-plane worker may hand to the control plane (`slow-path` messages): token
 * buckets, per worker, so a flood of packets the fast path cannot take (junk, spoofed sources,
 * packets to random Teredo addresses) costs the engine's main thread a bounded share of its time
 * and its message queue cannot grow without end. Sans-I/O: the caller passes the clock. Packets
 * over budget are the caller's to drop and count (`drop-slow-path-budget`).
 *
 * One bucket per kind of sender, so that a flood of one kind cannot starve the others:
 * - udp: datagrams from anyone. This is what a spoofed flood spends.
 * - solicited: datagrams from a peer the local side is soliciting (its answer to our bubbles or
 *   ping: src/teredo/fast-path.ts, fromSolicitedPeer), once the udp bucket is empty. A blind
 *   spoofer does not know which peers those are, so a new peer stays reachable under a flood.
 * - tun: packets from the TUN device (the local side reaching a new peer; on a relay, the IPv6
 *   Internet reaching a Teredo client that has not answered yet).
 * - server: a client's own server (its RAs, the bubbles it relays), so that a flood cannot cost
 *   the client its qualification.
 *
 * The numbers. Measured on the 2-core CI machine (a worker posting slow-path messages to the
 * main thread running the real message check and control plane, I/O faked): the main thread
 * takes about 160,000 junk datagrams/s and 85,000-100,000/s of the most expensive kind, a
 * packet to a new Teredo peer each (peer created, packet queued, bubble sent), ~11 µs each;
 * with the real sendto() of the bubble, something like 50,000-60,000/s. The engine runs up to
 * 4 workers by default (one per CPU), and the buckets of a worker add up to 11,000/s, so the
 * worst case stays at 44,000/s, below what the main thread can take: its queue drains and its
 * timers and helper replies keep running. Legitimate slow-path traffic is a few packets per new
 * peer (the first queued packets, bubbles, pings and their replies) plus RS/RA every 30 s: 7,000
 * datagrams and 2,000 TUN packets a second are some 1,000 new peers per second per worker, far
 * more than a client or a relay sees. The bursts, 1/5 of a second's worth, absorb the peers that
 * all come back at once after a restart or an address change, whose first packets each go to
 * the slow path.
 */

export interface BucketSize {
  /** Long-run slow-path messages per second, per worker. */
  readonly perSecond: number;
  /** Messages a worker may send at once after a quiet spell (the bucket's size). */
  readonly burst: number;
}

export const UDP_BUDGET: BucketSize = Object.freeze({ perSecond: 7_000, burst: 1_400 });
export const SOLICITED_BUDGET: BucketSize = Object.freeze({ perSecond: 1_000, burst: 200 });
export const TUN_BUDGET: BucketSize = Object.freeze({ perSecond: 2_000, burst: 400 });
/** A server sends an RA per RS and relays bubbles: far less than a flood. */
export const SERVER_BUDGET: BucketSize = Object.freeze({ perSecond: 1_000, burst: 200 });

export interface SlowPathBudget {
  /**
   * Whether one more message may go at `nowMs` (monotonic milliseconds, e.g. performance.now());
   * takes its token if so. A clock that goes back refills nothing. Allocation-free.
   */
  take(nowMs: number): boolean;
  /** Tokens left as of the last take (fractional: refill is continuous). */
  readonly tokens: number;
}

const TOKENS = 0;
const LAST_MS = 1;

/**
 * A full bucket of `burst` tokens refilled at `perSecond`. Throws RangeError unless perSecond
 * is positive and finite and burst is a positive integer (constants and tests only).
 */
export function createSlowPathBudget(
  perSecond: number = UDP_BUDGET.perSecond,
  burst: number = UDP_BUDGET.burst,
): SlowPathBudget {
  if (!Number.isFinite(perSecond) || perSecond <= 0) {
    throw new RangeError(`slow-path rate must be positive, got ${perSecond}`);
  }
  if (!Number.isSafeInteger(burst) || burst < 1) {
    throw new RangeError(`slow-path burst must be a positive integer, got ${burst}`);
  }
  const perMs = perSecond / 1000;
  // Doubles kept in a typed array: storing them in closure variables would box each new value.
  const state = new Float64Array(2);
  state[TOKENS] = burst;
  state[LAST_MS] = Number.NEGATIVE_INFINITY;
  return {
    take(nowMs: number): boolean {
      const last = state[LAST_MS]!;
      let tokens = state[TOKENS]!;
      if (nowMs > last) {
        tokens = Math.min(burst, tokens + (nowMs - last) * perMs);
        state[LAST_MS] = nowMs;
      }
      if (tokens < 1) {
        state[TOKENS] = tokens;
        return false;
      }
      state[TOKENS] = tokens - 1;
      return true;
    },
    get tokens(): number {
      return state[TOKENS]!;
    },
  };
}

/** A data-plane worker's budgets, one per kind of sender (see above). */
export interface SlowPathBudgets {
  readonly udp: SlowPathBudget;
  readonly solicited: SlowPathBudget;
  readonly tun: SlowPathBudget;
  readonly server: SlowPathBudget;
}

export function createSlowPathBudgets(): SlowPathBudgets {
  const bucket = (size: BucketSize): SlowPathBudget => createSlowPathBudget(size.perSecond, size.burst);
  return {
    udp: bucket(UDP_BUDGET),
    solicited: bucket(SOLICITED_BUDGET),
    tun: bucket(TUN_BUDGET),
    server: bucket(SERVER_BUDGET),
  };
}
