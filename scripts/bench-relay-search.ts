/**
 * The search for the highest loss-free packet rate: one flat-out trial first (what the
 * generator can send, and what the relay delivers when overloaded), then trials at fixed rates,
 * stepping down geometrically until one passes and bisecting between the best pass and the
 * lowest failure. A trial passes when the generator kept to the rate (≥ 97 %) and the loss stays
 * within `maxLoss`. A near miss (loss up to `retryLoss`, or a generator that fell behind) is
 * tried once more: other work on the machine can spoil one short trial. Short trials are noisy:
 * the result is a figure, not a proof.
 */

export interface Trial {
  /** Packets/s asked for; 0 for the flat-out trial. */
  readonly rate: number;
  readonly sent: number;
  readonly delivered: number;
  readonly seconds: number;
  /** CPU seconds the relay's processes used during the trial. */
  readonly relayCpuSeconds: number;
  /** Where the relay's host dropped packets during the trial, when known. */
  readonly relayDrops?: { readonly udpReceiveBuffer: number; readonly tunQueue: number } | null;
}

export type RunTrial = (rate: number) => Promise<Trial>;

export interface SearchOptions {
  /** Highest loss fraction that still counts as loss-free (0.001 = 0.1 %). */
  readonly maxLoss: number;
  /** Most rate trials after the flat-out one, retries included. */
  readonly maxTrials: number;
  /** A failed trial with at most this loss is repeated once at the same rate. */
  readonly retryLoss: number;
  /** Stop when the bracket is narrower than this fraction of its top. */
  readonly precision: number;
}

export interface SearchResult {
  readonly flatOut: Trial;
  /** The highest passing trial, or null when none passed. */
  readonly best: Trial | null;
  /** The lowest failing rate (the bracket's top), or null if the flat-out trial passed. */
  readonly lowestFailingRate: number | null;
  /** The flat-out trial was loss-free: the relay is faster than the generator can show. */
  readonly limitedByGenerator: boolean;
  readonly trials: readonly Trial[];
}

const KEEP_UP = 0.97;
const STEP_DOWN = 0.75;
/** Where the first fixed-rate trial goes, relative to what the overloaded relay delivered. */
const FIRST_GUESS = 0.9;
const BRACKET_TOP = 1.25;
const RAISE = 1.5;

export function sendRate(trial: Trial): number {
  return trial.seconds > 0 ? trial.sent / trial.seconds : 0;
}

export function deliveredRate(trial: Trial): number {
  return trial.seconds > 0 ? trial.delivered / trial.seconds : 0;
}

export function lossFraction(trial: Trial): number {
  return trial.sent > 0 ? Math.max(0, trial.sent - trial.delivered) / trial.sent : 0;
}

function keptUp(trial: Trial): boolean {
  return trial.rate === 0 || sendRate(trial) >= KEEP_UP * trial.rate;
}

export function passes(trial: Trial, maxLoss: number): boolean {
  return trial.sent > 0 && keptUp(trial) && lossFraction(trial) <= maxLoss;
}

function nearMiss(trial: Trial, options: SearchOptions): boolean {
  return !keptUp(trial) || lossFraction(trial) <= options.retryLoss;
}

export async function searchLossFree(run: RunTrial, options: SearchOptions): Promise<SearchResult> {
  const trials: Trial[] = [];
  const flatOut = await run(0);
  trials.push(flatOut);
  if (passes(flatOut, options.maxLoss)) {
    return { flatOut, best: flatOut, lowestFailingRate: null, limitedByGenerator: true, trials };
  }
  // An overloaded relay delivers about its capacity, often less (receive livelock), rarely much
  // more: the bracket's top starts a little above that, unproven until a trial fails there; while
  // it is unproven, a pass moves the search up to it (and beyond, up to the generator's top).
  const ceiling = sendRate(flatOut);
  let low = 0;
  let high = Math.min(ceiling, deliveredRate(flatOut) * BRACKET_TOP);
  let highFailed = high === ceiling;
  let best: Trial | null = null;
  let rate = Math.min(high, deliveredRate(flatOut)) * FIRST_GUESS;
  let retried = false;
  for (let i = 0; i < options.maxTrials && rate >= 1; i++) {
    const trial = await run(Math.round(rate));
    trials.push(trial);
    if (!passes(trial, options.maxLoss) && !retried && nearMiss(trial, options)) {
      retried = true;
      continue;
    }
    retried = false;
    if (passes(trial, options.maxLoss)) {
      low = trial.rate;
      best = trial;
      if (!highFailed && low >= high * (1 - options.precision)) {
        high = Math.min(ceiling, high * RAISE);
        highFailed = high === ceiling;
      }
    } else {
      high = trial.rate;
      highFailed = true;
    }
    if (highFailed && high - low <= options.precision * high) break;
    if (best === null) rate = high * STEP_DOWN;
    else rate = highFailed ? (low + high) / 2 : high;
  }
  return { flatOut, best, lowestFailingRate: high, limitedByGenerator: false, trials };
}
