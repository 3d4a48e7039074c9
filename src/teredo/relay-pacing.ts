/**
 * How often the tunnel may solicit an unresponsive peer (RFC 4380 sections 5.2.4 and 5.2.6,
 * Miredo's CountBubble and CountPing). Times are whole seconds of the monotonic clock, the
 * peer table's unit.
 *
 * Bubbles: the first goes at once; the next only more than `bubbleMinIntervalMs` after the
 * previous one; after `bubbleBurst` bubbles, none until `bubbleBackoffMs` have passed since the
 * last, and meanwhile the destination counts as unreachable. Then the count starts over.
 * Pings: the same spacing, and at most `maxPingsPerPeer` for the life of the peer entry (the
 * count is reset only when the peer answers).
 */
import type { TeredoConstants } from './constants.js';

/** 'send': send one now (the count was taken); 'wait': too early, send nothing; 'limit': give up. */
export type PacingVerdict = 'send' | 'wait' | 'limit';

export interface Pacing {
  readonly verdict: PacingVerdict;
  /** The count and last-sent second to store for the peer. */
  readonly count: number;
  readonly lastSeconds: number;
}

/**
 * Signed 16-bit difference (the table keeps these stamps mod 65536: peers-layout.ts), like the
 * peer table's ages: a stamp slightly ahead of us is "just now".
 */
function elapsedMs(nowSeconds: number, lastSeconds: number): number {
  return Math.max(0, ((nowSeconds - lastSeconds) << 16) >> 16) * 1000;
}

export function paceBubble(
  count: number,
  lastSeconds: number,
  nowSeconds: number,
  constants: TeredoConstants,
): Pacing {
  let next = count;
  if (count > 0) {
    const elapsed = elapsedMs(nowSeconds, lastSeconds);
    if (elapsed <= constants.bubbleMinIntervalMs) return { verdict: 'wait', count, lastSeconds };
    if (count >= constants.bubbleBurst) {
      if (elapsed <= constants.bubbleBackoffMs) return { verdict: 'limit', count, lastSeconds };
      next = 0;
    }
  }
  return { verdict: 'send', count: next + 1, lastSeconds: nowSeconds };
}

export function pacePing(
  count: number,
  lastSeconds: number,
  nowSeconds: number,
  constants: TeredoConstants,
): Pacing {
  if (count >= constants.maxPingsPerPeer) return { verdict: 'limit', count, lastSeconds };
  if (count > 0 && elapsedMs(nowSeconds, lastSeconds) <= constants.pingMinIntervalMs) {
    return { verdict: 'wait', count, lastSeconds };
  }
  return { verdict: 'send', count: count + 1, lastSeconds: nowSeconds };
}
