/**
 * How often the tunnel may solicit an unresponsive peer (RFC 4380 sections 5.2.4 and 5.2.6,
 * Miredo's CountBubble and CountPing). Times are whole seconds of the monotonic clock, the
 * peer table's unit.
 *
 * Bubbles: the first goes at once; the next only more than `bubbleMinIntervalMs` after the
 * previous one; after `bubbleBurst` bubbles, none until `bubbleBackoffMs` have passed since the
 * last, and meanwhile the destination counts as unreachable. Then the count starts over.
 * Pings: the same spacing, at most `maxPingsPerPeer` in a round, and meanwhile the destination
 * counts as unreachable; the count is reset when the peer answers. Miredo never starts another
 * round while its peer entry lives, and an entry that the local side keeps using never expires:
 * a round lost to a burst of packet loss cut the destination off for good (30 % loss in the
 * fault campaign). Here a new round starts `pingRetryMs` after the last ping of a lost one.
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
export function stampAgeSeconds(nowSeconds: number, stampSeconds: number): number {
  return Math.max(0, ((nowSeconds - stampSeconds) << 16) >> 16);
}

function elapsedMs(nowSeconds: number, lastSeconds: number): number {
  return stampAgeSeconds(nowSeconds, lastSeconds) * 1000;
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
  const elapsed = elapsedMs(nowSeconds, lastSeconds);
  if (count >= constants.maxPingsPerPeer) {
    if (elapsed <= constants.pingRetryMs) return { verdict: 'limit', count, lastSeconds };
    return { verdict: 'send', count: 1, lastSeconds: nowSeconds };
  }
  if (count > 0 && elapsed <= constants.pingMinIntervalMs) return { verdict: 'wait', count, lastSeconds };
  return { verdict: 'send', count: count + 1, lastSeconds: nowSeconds };
}
