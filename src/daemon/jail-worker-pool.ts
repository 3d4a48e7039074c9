/**
 * The engine's data-plane workers, and their replacement inside the jail. A fixed piscina pool
 * (minThreads = maxThreads, no idle timeout) runs one long-lived task per worker. When a task
 * fails because its thread threw, piscina has already started a new thread to keep minThreads;
 * once replacement is allowed (the engine is jailed and the jail holds the program copy, see
 * jail-program.ts) we run the same task again on it: same worker index, same TUN queue and UDP
 * socket (they stay open in the process), same shared peer table and counters row, with a new
 * private port. What the dead thread held in its batch is lost; whatever the kernel queued on
 * its descriptors meanwhile is read by the replacement.
 *
 * It gives up (fatal: the engine exits and the bootstrap restarts it) when replacement is not
 * allowed, when a replacement thread cannot load (piscina then reports a pool error and stops
 * starting threads), when it is not ready in time, or after too many failures in a short window
 * (a packet that crashes every worker must not make us spin).
 */
import { MessageChannel } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { createDataplanePiscina } from './early-pool.js';
import type { EarlyPool } from './early-pool.js';
import type { Logger } from '../log/logger.js';
import { parseWorkerToEngine } from './ipc.js';
import type { DataplaneTask, EngineToWorker, SlowPathMessage } from './ipc.js';

export const WORKER_READY_TIMEOUT_MS = 10_000;

export interface ReplacementPolicy {
  /** More failures than this within windowMs: give up. */
  readonly maxFailures: number;
  readonly windowMs: number;
}

export const DEFAULT_REPLACEMENT_POLICY: ReplacementPolicy = { maxFailures: 3, windowMs: 10_000 };

/** A worker's task without its port: the pool gives every run a fresh one. */
export type WorkerTask = Omit<DataplaneTask, 'port'>;

export interface WorkerPoolOptions {
  readonly log: Logger;
  readonly dataplanePath: string;
  /** One per worker, in worker index order. */
  readonly tasks: readonly WorkerTask[];
  readonly slowPath: (message: SlowPathMessage) => void;
  /** Ends the engine with exit status 1 after logging `text`. */
  readonly fatal: (text: string) => void;
  /** Whether a new worker thread could load its code now (the jail holds the program copy). */
  readonly canReplace: () => boolean;
  readonly readyTimeoutMs?: number;
  readonly policy?: ReplacementPolicy;
  /** Monotonic milliseconds. */
  readonly now?: () => number;
  /** Threads the entry point started before `init` (early-pool.ts); used when the size matches. */
  readonly early?: EarlyPool | null;
}

export interface WorkerPool {
  /** Settles when every worker has said `worker-ready` (rejects after the timeout). */
  readonly ready: Promise<void>;
  /** From now on (the engine is jailed) a failed worker is replaced, when canReplace() says it can be. */
  allowReplacement(): void;
  /** Failed workers so far, and how many of them were replaced. */
  stats(): { readonly failed: number; readonly replaced: number };
  /** Sends `message` to worker `index`; false when it has no running task. */
  post(index: number, message: EngineToWorker): boolean;
  /** `worker-stop` to every worker, waits for them up to `timeoutMs`, then ends the threads. */
  stop(timeoutMs: number): Promise<void>;
  /** Ends the threads now (the engine is exiting on an error). */
  destroy(): void;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const timeout = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms).unref());

/**
 * Routes one run's messages: resolves on its `worker-ready`, rejects after `timeoutMs` or when
 * the port closes first, and hands every slow-path packet on.
 */
function listenToWorker(
  port: MessagePort,
  workerIndex: number,
  timeoutMs: number,
  slowPath: (message: SlowPathMessage) => void,
  invalid: (error: string) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker ${workerIndex} not ready in time`)), timeoutMs);
    port.on('close', () => {
      clearTimeout(timer);
      reject(new Error(`worker ${workerIndex} went away before it was ready`));
    });
    port.on('message', (raw: unknown) => {
      const parsed = parseWorkerToEngine(raw);
      if (!parsed.ok) {
        invalid(parsed.error);
        return;
      }
      const message = parsed.message;
      if (message.type === 'slow-path') slowPath(message);
      else if (message.workerIndex === workerIndex) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

export function createWorkerPool(options: WorkerPoolOptions): WorkerPool {
  const { log, tasks, fatal } = options;
  const policy = options.policy ?? DEFAULT_REPLACEMENT_POLICY;
  const now = options.now ?? (() => performance.now());
  const readyTimeoutMs = options.readyTimeoutMs ?? WORKER_READY_TIMEOUT_MS;
  const size = tasks.length;
  const early = options.early ?? null;
  const reuse = early !== null && early.size === size;
  if (early !== null && !reuse) void early.pool.destroy().catch(() => undefined);
  const pool = reuse ? early.pool : createDataplanePiscina(options.dataplanePath, size);
  const ports: Array<MessagePort | null> = tasks.map(() => null);
  const runs: Array<Promise<unknown>> = tasks.map(() => Promise.resolve());
  /** Bumped on every run of a worker: late events of an earlier run are ignored. */
  const generations = tasks.map(() => 0);
  let stopping = false;
  let replaceable = false;
  let failed = 0;
  let replaced = 0;
  let recentFailures: number[] = [];

  const giveUp = (text: string): void => {
    if (stopping) return;
    stopping = true;
    fatal(text);
  };
  pool.on('error', (error: unknown) => giveUp(`Data-plane pool failure: ${errorText(error)}`));

  const run = (index: number): Promise<void> => {
    const task = tasks[index];
    if (task === undefined) return Promise.reject(new Error(`no data-plane task ${index}`));
    const generation = (generations[index] ?? 0) + 1;
    generations[index] = generation;
    const { port1, port2 } = new MessageChannel();
    ports[index] = port1;
    const ready = listenToWorker(port1, index, readyTimeoutMs, options.slowPath, (error) =>
      log.warning('Invalid message from data-plane worker %d: %s', index, error),
    );
    const result = pool.run({ ...task, port: port2 }, { transferList: [port2] }) as Promise<unknown>;
    runs[index] = result;
    result.then(
      () => {
        if (!stopping) giveUp(`Data-plane worker ${index} stopped unexpectedly`);
      },
      (error: unknown) => {
        if (generation === generations[index]) onFailure(index, error);
      },
    );
    return ready;
  };

  function onFailure(index: number, error: unknown): void {
    if (stopping) return;
    ports[index]?.close();
    ports[index] = null;
    failed += 1;
    const reason = errorText(error);
    if (!replaceable) {
      giveUp(`Data-plane worker ${index} failed: ${reason}`);
      return;
    }
    if (!options.canReplace()) {
      giveUp(
        `Data-plane worker ${index} failed: ${reason} (no copy of the program in the jail to replace it)`,
      );
      return;
    }
    log.error({ worker: index }, 'Data-plane worker %d failed: %s', index, reason);
    const failedAt = now();
    recentFailures = [...recentFailures.filter((at) => failedAt - at < policy.windowMs), failedAt];
    if (recentFailures.length > policy.maxFailures) {
      giveUp(
        `Data-plane workers failed ${recentFailures.length} times within ${policy.windowMs / 1000} s; giving up`,
      );
      return;
    }
    // run() makes the next generation; a stale readiness of this one is ignored.
    const generation = (generations[index] ?? 0) + 1;
    run(index).then(
      () => {
        replaced += 1;
        const ms = Math.round(now() - failedAt);
        log.notice({ worker: index, ms }, 'Data-plane worker %d replaced in %d ms', index, ms);
      },
      (cause: unknown) => {
        if (generation === generations[index])
          giveUp(`Data-plane worker ${index} could not be replaced: ${errorText(cause)}`);
      },
    );
  }

  /** An open port keeps the thread's event loop alive. */
  const closePorts = (): void => {
    for (const [index, port] of ports.entries()) {
      port?.close();
      ports[index] = null;
    }
  };

  const ready = Promise.all(tasks.map((_, index) => run(index))).then(() => undefined);
  // The engine awaits `ready`; a rejection it has not reached yet must not count as unhandled.
  ready.catch(() => undefined);

  return {
    ready,
    allowReplacement(): void {
      replaceable = true;
    },
    stats: () => ({ failed, replaced }),
    post(index: number, message: EngineToWorker): boolean {
      const port = ports[index];
      if (port === null || port === undefined) return false;
      port.postMessage(message);
      return true;
    },
    async stop(timeoutMs: number): Promise<void> {
      stopping = true;
      for (const port of ports) port?.postMessage({ type: 'worker-stop' } satisfies EngineToWorker);
      await Promise.race([Promise.allSettled(runs), timeout(timeoutMs)]);
      // A replacement that never got a thread keeps its task queued: do not wait for it forever.
      await Promise.race([pool.destroy().catch(() => undefined), timeout(timeoutMs)]);
      closePorts();
    },
    destroy(): void {
      stopping = true;
      closePorts();
      void pool.destroy().catch(() => undefined);
    },
  };
}
