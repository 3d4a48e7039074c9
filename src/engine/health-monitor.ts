/**
 * The data plane's health as the engine sees it, reported to the bootstrap every
 * HEALTH_INTERVAL_MS: the workers whose heartbeat (dataplane/heartbeat.ts) has not moved for
 * STALL_MS. A worker that is blocked or spins forever (wedged), or whose thread is gone and not
 * yet replaced, stops beating; a busy one still beats between batches. The report itself is the
 * engine's own heartbeat: a wedged engine sends none, which the bootstrap notices too.
 */
import type { HealthMessage } from '../ipc/bootstrap-engine-messages.js';

export const HEALTH_INTERVAL_MS = 250;
/** Fifteen missed 100 ms beats: far above a long batch or a garbage collection. */
export const STALL_MS = 1500;

/** Pure: remembers when each worker's count last moved and tells which have been still too long. */
export class HeartbeatWatch {
  private readonly last: number[];
  private readonly movedAt: number[];

  constructor(
    workers: number,
    now: number,
    private readonly stallMs = STALL_MS,
  ) {
    this.last = Array.from({ length: workers }, () => Number.NaN);
    this.movedAt = Array.from({ length: workers }, () => now);
  }

  /** The workers (indices) whose count has not moved for stallMs, given the counts now. */
  observe(beats: ArrayLike<number>, now: number): number[] {
    const stalled: number[] = [];
    for (let index = 0; index < this.last.length; index += 1) {
      const count = beats[index] ?? 0;
      if (count !== this.last[index]) {
        this.last[index] = count;
        this.movedAt[index] = now;
      } else if (now - (this.movedAt[index] ?? now) >= this.stallMs) {
        stalled.push(index);
      }
    }
    return stalled;
  }
}

export interface HealthMonitor {
  stop(): void;
}

export interface HealthMonitorOptions {
  readonly heartbeat: SharedArrayBuffer;
  readonly workers: number;
  readonly send: (message: HealthMessage) => void;
  /** Called when the set of stalled workers changes (for the log). */
  readonly changed?: (stalled: readonly number[]) => void;
  readonly now?: () => number;
  readonly intervalMs?: number;
  readonly stallMs?: number;
}

export function startHealthMonitor(options: HealthMonitorOptions): HealthMonitor {
  const now = options.now ?? (() => performance.now());
  const beats = new Int32Array(options.heartbeat);
  const watch = new HeartbeatWatch(options.workers, now(), options.stallMs);
  let previous = '';
  const check = (): void => {
    const stalled = watch.observe(beats, now());
    const key = stalled.join(',');
    if (key !== previous) options.changed?.(stalled);
    previous = key;
    options.send({ type: 'health', stalled });
  };
  const timer = setInterval(check, options.intervalMs ?? HEALTH_INTERVAL_MS);
  // The channel and the workers keep the engine alive; the monitor alone must not.
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
