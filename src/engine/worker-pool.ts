/**
 * The engine's data-plane workers: a fixed set of threads, one long-lived packet loop each,
 * started from the program held in memory (dataplane-program.ts) so that one can be replaced
 * inside the jail.
 *
 * Start: each thread gets its task and says `worker-ready` (loaded, buffers allocated, nothing
 * read). The engine drops privileges and calls start() without waiting for that: every worker
 * gets `worker-start` after its task, checks for itself (once loaded) that it is jailed and
 * unprivileged, and only then reads. A thread that ends before `worker-ready` rejects `ready`.
 *
 * Replacement (once started): a thread that ends is replaced by a new one from the same program
 * and given the same task: same worker index, same TUN queue and UDP socket (they stay open in
 * the process), same shared peer table and counters row, and the new thread's own port. What
 * the dead thread held in its batch is lost; whatever the kernel queued on its descriptors
 * meanwhile is read by the replacement. It gives up (fatal: the engine exits and the bootstrap
 * restarts it) when a worker fails before the engine is jailed, when a replacement ends or is
 * not ready in time, when a worker refuses to read, or after too many failures in a short window
 * (a packet that crashes every worker must not make us spin).
 */
import type { Logger } from '../log/logger.js';
import type { DataplaneProgram, DataplaneThread } from './dataplane-program.js';
import { parseWorkerToEngine } from '../ipc/engine-worker-messages.js';
import type { DataplaneTask, EngineToWorker, SlowPathMessage } from '../ipc/engine-worker-messages.js';

export const WORKER_READY_TIMEOUT_MS = 10_000;

export interface ReplacementPolicy {
  /** More failures than this within windowMs: give up. */
  readonly maxFailures: number;
  readonly windowMs: number;
}

export const DEFAULT_REPLACEMENT_POLICY: ReplacementPolicy = { maxFailures: 3, windowMs: 10_000 };

export interface WorkerPoolOptions {
  readonly log: Logger;
  readonly program: DataplaneProgram;
  /** One per worker, in worker index order. */
  readonly tasks: readonly DataplaneTask[];
  readonly slowPath: (message: SlowPathMessage) => void;
  /** Ends the engine with exit status 1 after logging `text`. */
  readonly fatal: (text: string) => void;
  readonly readyTimeoutMs?: number;
  readonly policy?: ReplacementPolicy;
  /** Monotonic milliseconds. */
  readonly now?: () => number;
  /** Threads the entry point started before `init` (early-threads.ts); used when their number matches. */
  readonly early?: readonly DataplaneThread[] | null;
}

export interface WorkerPool {
  /** Settles when every worker has said `worker-ready` (rejects after the timeout or an early end). */
  readonly ready: Promise<void>;
  /** The engine is jailed: every worker may start reading, and from now on a failed one is replaced. */
  start(): void;
  /** Failed workers so far, and how many of them were replaced. */
  stats(): { readonly failed: number; readonly replaced: number };
  /** Sends `message` to worker `index`; false when it has no running thread. */
  post(index: number, message: EngineToWorker): boolean;
  /** `worker-stop` to every worker, waits for their threads to end up to `timeoutMs`, then ends them. */
  stop(timeoutMs: number): Promise<void>;
  /** Ends the threads now (the engine is exiting on an error). */
  destroy(): void;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const timeout = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms).unref());

/**
 * Longer than 80 lines: one pool's threads, start state and failure window are shared by launch (a
 * thread's messages and end), onFailure (the replacement) and the methods; each part is at most
 * 60 lines.
 */
export function createWorkerPool(options: WorkerPoolOptions): WorkerPool {
  const { log, tasks, fatal, program } = options;
  const policy = options.policy ?? DEFAULT_REPLACEMENT_POLICY;
  const now = options.now ?? (() => performance.now());
  const readyTimeoutMs = options.readyTimeoutMs ?? WORKER_READY_TIMEOUT_MS;
  const early = options.early ?? [];
  const adopt = early.length === tasks.length;
  if (!adopt) for (const thread of early) void thread.worker.terminate();
  const threads: Array<DataplaneThread | null> = tasks.map(() => null);
  let stopping = false;
  let started = false;
  let failed = 0;
  let replaced = 0;
  let recentFailures: number[] = [];

  const giveUp = (text: string): void => {
    if (stopping) return;
    stopping = true;
    fatal(text);
  };

  /** The task first, then commands. */
  const send = (thread: DataplaneThread, message: DataplaneTask | EngineToWorker): void =>
    thread.worker.postMessage(message);

  /**
   * Gives worker `index` its task on `thread` and routes the thread's messages; resolves on its
   * `worker-ready`, rejects after the timeout or when the thread ends first. A thread that ends
   * after it was ready is a failure (onFailure).
   */
  const launch = (index: number, thread: DataplaneThread): Promise<void> => {
    const task = tasks[index];
    if (task === undefined) return Promise.reject(new Error(`no data-plane task ${index}`));
    threads[index] = thread;
    let isReady = false;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`worker ${index} not ready in time`));
        void thread.worker.terminate();
      }, readyTimeoutMs);
      thread.worker.on('message', (raw: unknown) => {
        const parsed = parseWorkerToEngine(raw);
        if (!parsed.ok || parsed.message.workerIndex !== index) {
          log.warning(
            'Invalid message from data-plane worker %d: %s',
            index,
            parsed.ok ? 'not its index' : parsed.error,
          );
          return;
        }
        const message = parsed.message;
        switch (message.type) {
          case 'slow-path':
            options.slowPath(message);
            return;
          case 'worker-ready':
            isReady = true;
            clearTimeout(timer);
            resolve();
            if (started) send(thread, { type: 'worker-start' });
            return;
          case 'worker-reading':
            log.info(
              { worker: index, uid: message.uid, gid: message.gid },
              'Data-plane worker %d reads as uid %d gid %d, in the jail',
              index,
              message.uid,
              message.gid,
            );
            return;
          case 'worker-refused':
            giveUp(`Data-plane worker ${index} refused to read: ${message.reason}`);
            return;
        }
      });
      void thread.ended.then((reason) => {
        clearTimeout(timer);
        if (threads[index] !== thread || stopping) return;
        threads[index] = null;
        if (isReady) onFailure(index, reason);
        else reject(new Error(`worker ${index} ended before it was ready: ${reason}`));
      });
      send(thread, task);
    });
  };

  function onFailure(index: number, reason: string): void {
    failed += 1;
    if (!started) {
      giveUp(`Data-plane worker ${index} failed: ${reason}`);
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
    launch(index, program.startThread()).then(
      () => {
        replaced += 1;
        const ms = Math.round(now() - failedAt);
        log.notice({ worker: index, ms }, 'Data-plane worker %d replaced in %d ms', index, ms);
      },
      (cause: unknown) => giveUp(`Data-plane worker ${index} could not be replaced: ${errorText(cause)}`),
    );
  }

  const endAll = (): Promise<unknown> =>
    Promise.allSettled(threads.map((thread) => thread?.worker.terminate()));

  const ready = Promise.all(
    tasks.map((_, index) => launch(index, (adopt ? early[index] : undefined) ?? program.startThread())),
  ).then(() => undefined);
  // The engine awaits `ready`; a rejection it has not reached yet must not count as unhandled.
  ready.catch(() => undefined);

  return {
    ready,
    start(): void {
      started = true;
      for (const thread of threads) if (thread !== null) send(thread, { type: 'worker-start' });
    },
    stats: () => ({ failed, replaced }),
    post(index: number, message: EngineToWorker): boolean {
      const thread = threads[index];
      if (thread === null || thread === undefined) return false;
      send(thread, message);
      return true;
    },
    async stop(timeoutMs: number): Promise<void> {
      stopping = true;
      for (const thread of threads) if (thread !== null) send(thread, { type: 'worker-stop' });
      const ended = threads.map((thread) => thread?.ended);
      await Promise.race([Promise.allSettled(ended), timeout(timeoutMs)]);
      await endAll();
    },
    destroy(): void {
      stopping = true;
      void endAll();
    },
  };
}
