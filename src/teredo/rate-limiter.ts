/**
 * Per-source-IPv4 rate limiting in fixed memory: a table of token buckets indexed by a keyed
 * hash of the address. Sources that hash to the same bucket share it; the key is random, so an
 * attacker cannot choose addresses that land in a victim's bucket. Nothing is allocated per
 * source or per call.
 *
 * A bucket is a pair of numbers side by side (one cache line): when it was last refilled and
 * the tokens it then held. Tokens stay small numbers, so a burst at one instant spends exact
 * integers even when the clock reads in the billions of milliseconds.
 */

export interface SourceRateLimiter {
  /** Whether one more packet from `ipv4` (uint32) may pass at monotonic time `nowMs`; counts it if so. */
  allow(ipv4: number, nowMs: number): boolean;
}

export interface SourceRateLimiterOptions {
  /** Sustained packets per second per source; 0 turns the limiter off. */
  readonly perSecond: number;
  /** Packets a quiet source may send at once (at least 1 is used). */
  readonly burst: number;
  /** Bucket count, rounded up to a power of two (default 65536). */
  readonly buckets?: number;
  /** Hash key (uint32) for reproducible tests; random by default. */
  readonly seed?: number;
}

export const DEFAULT_RATE_LIMIT_BUCKETS = 65_536;
const MAX_BUCKETS = 1 << 24;

/**
 * A bijective 32-bit mixer (the "lowbias32" finaliser). Works on signed int32 values so that
 * nothing leaves the small-integer range (no heap numbers on the data path).
 */
function mix32(value: number): number {
  let x = value | 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  return x ^ (x >>> 16);
}

function randomKeys(): readonly [number, number] {
  const keys = crypto.getRandomValues(new Int32Array(2));
  return [keys[0]!, keys[1]!];
}

function keysFromSeed(seed: number): readonly [number, number] {
  return [mix32(seed ^ 0x9e3779b9), mix32(seed ^ 0x85ebca6b)];
}

function nextPowerOfTwo(value: number): number {
  let size = 1;
  while (size < value) size *= 2;
  return size;
}

const UNLIMITED: SourceRateLimiter = Object.freeze({ allow: () => true });

/**
 * Throws RangeError on a negative or non-finite rate, a non-finite burst or a bucket count
 * outside 1..2^24: those come from validated configuration, so a bad one is a programming error.
 */
export function createSourceRateLimiter(options: SourceRateLimiterOptions): SourceRateLimiter {
  const { perSecond, burst } = options;
  if (!Number.isFinite(perSecond) || perSecond < 0) {
    throw new RangeError(`rate limit must be a finite non-negative number, got ${perSecond}`);
  }
  if (!Number.isFinite(burst)) throw new RangeError(`burst must be finite, got ${burst}`);
  const requestedBuckets = options.buckets ?? DEFAULT_RATE_LIMIT_BUCKETS;
  if (!Number.isInteger(requestedBuckets) || requestedBuckets < 1 || requestedBuckets > MAX_BUCKETS) {
    throw new RangeError(`bucket count must be an integer in 1..${MAX_BUCKETS}, got ${requestedBuckets}`);
  }
  if (perSecond === 0) return UNLIMITED;

  const tokensPerMs = perSecond / 1000;
  const capacity = Math.max(1, burst);
  const size = nextPowerOfTwo(requestedBuckets);
  const mask = size - 1;
  // [refilledAt, tokens] per bucket; -Infinity fills every bucket on first use, whatever the clock origin.
  const buckets = new Float64Array(2 * size);
  for (let i = 0; i < buckets.length; i += 2) buckets[i] = -Infinity;
  const [key0, key1] = options.seed === undefined ? randomKeys() : keysFromSeed(options.seed);

  return {
    allow(ipv4: number, nowMs: number): boolean {
      const at = 2 * (mix32(mix32(ipv4 ^ key0) ^ key1) & mask);
      const elapsedMs = nowMs - buckets[at]!;
      let tokens = buckets[at + 1]!;
      // A clock that stands still or goes back refills nothing.
      if (elapsedMs > 0) {
        tokens = Math.min(capacity, tokens + elapsedMs * tokensPerMs);
        buckets[at] = nowMs;
      }
      // The slack absorbs rounding in the refill, so a whole token is never read as 0.999...
      if (tokens < 1 - 1e-9) {
        buckets[at + 1] = tokens;
        return false;
      }
      buckets[at + 1] = tokens - 1;
      return true;
    },
  };
}
