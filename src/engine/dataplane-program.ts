/**
 * The data-plane threads' program, held in memory from before the chroot, and the one way to
 * start a thread from it (the first threads and every replacement alike).
 *
 * Why in memory: once the engine is jailed no file of ours exists any more, yet a thread that
 * died must be replaced without restarting the engine. A Worker can run a script from source
 * text (`eval: true`): the bundled data plane (scripts/bundle.ts makes it one self-contained
 * CommonJS file) is read here while the file system is still visible, and every thread runs that
 * text. The addon is the one thing it cannot carry: native.ts takes its absolute path from
 * workerData, and dlopen() returns the library the process already holds. (This is also why the
 * threads are ours and not a pool library's: piscina starts every thread from a script path,
 * which does not exist in the jail.)
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ADDON_PATH_KEY, NATIVE_ADDON_PATH } from '../os/native.js';

/** dist/bundle/dataplane/main.cjs, from dist/src/engine/ and from dist/bundle/engine/ alike. */
export const DATAPLANE_BUNDLE = fileURLToPath(new URL('../../bundle/dataplane/main.cjs', import.meta.url));

/** One data-plane thread, with why it ended once it has. */
export interface DataplaneThread {
  readonly worker: Worker;
  /** Resolves when the thread is gone: its uncaught error's message, or its exit code. */
  readonly ended: Promise<string>;
}

export interface DataplaneProgram {
  /** A new thread running the data plane; it waits for its task (worker-pool.ts). */
  startThread(): DataplaneThread;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Threads running `source`, a CommonJS script (the bundle in the daemon; anything in tests). */
export function programFromSource(source: string): DataplaneProgram {
  const workerData = { [ADDON_PATH_KEY]: NATIVE_ADDON_PATH };
  return {
    startThread(): DataplaneThread {
      const worker = new Worker(source, { eval: true, workerData });
      let error: string | null = null;
      // Listened to at once: a thread may fail before anyone else listens (an early thread).
      worker.on('error', (cause: unknown) => {
        error = errorText(cause);
      });
      const ended = new Promise<string>((resolve) => {
        worker.once('exit', (code: number) => resolve(error ?? `exit code ${code}`));
      });
      return { worker, ended };
    },
  };
}

/**
 * Reads the bundled data plane into memory; call it before the chroot. The sourceURL comment
 * names the file in stack traces (which would otherwise say "[worker eval]").
 */
export function loadDataplaneProgram(path: string = DATAPLANE_BUNDLE): DataplaneProgram {
  return programFromSource(`${readFileSync(path, 'utf8')}\n//# sourceURL=${pathToFileURL(path).href}\n`);
}
