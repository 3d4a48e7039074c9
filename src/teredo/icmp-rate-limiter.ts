/**
 * The tunnel's ICMPv6 error budget, as Miredo's teredo_send_unreach keeps it: at most
 * `perSecond` errors per clock second for the whole tunnel (not per destination), the budget
 * refilled when the second changes. Bursts at a second boundary can thus reach twice the rate,
 * like Miredo's.
 */

export interface IcmpRateLimiter {
  /** Whether one more error may be sent at monotonic time `nowMs`; takes it from the budget if so. */
  allow(nowMs: number): boolean;
}

/** Throws RangeError on a rate that is not a non-negative integer: it comes from the constants. */
export function createIcmpRateLimiter(perSecond: number): IcmpRateLimiter {
  if (!Number.isSafeInteger(perSecond) || perSecond < 0) {
    throw new RangeError(`ICMPv6 error rate must be a non-negative integer, got ${perSecond}`);
  }
  let second = Number.NaN;
  let left = 0;
  return {
    allow(nowMs: number): boolean {
      const current = Math.floor(nowMs / 1000);
      if (current !== second) {
        second = current;
        left = perSecond;
      }
      if (left === 0) return false;
      left -= 1;
      return true;
    },
  };
}
