/**
 * Readiness of a descriptor through uv_poll on the CALLING thread's event loop (works in a
 * worker_thread; each watcher belongs to the thread that created it). Level-triggered: the
 * callback fires on every loop turn while the descriptor stays readable/writable, so drain it.
 *
 * One watcher per descriptor per thread (a second one is EEXIST): to wait for both directions
 * use watchFd and setEvents. Stop the watcher BEFORE closing its descriptor. A watcher keeps
 * the thread's event loop alive until stopped.
 */
import { native } from './native.js';

export const READABLE = 1;
export const WRITABLE = 2;

/** status 0, or a negative errno (polling failed and has stopped: call stop()); events: READABLE | WRITABLE. */
export type ReadinessCallback = (status: number, events: number) => void;

export interface FdWatch {
  /** Stops and releases the watcher; further calls do nothing. */
  stop(): void;
}

export interface FdWatcher extends FdWatch {
  /** Changes what the watcher waits for (READABLE, WRITABLE or both). */
  setEvents(events: number): void;
}

/** Watches `fd` for `events` (READABLE | WRITABLE). An exception in the callback is an uncaught exception. */
export function watchFd(fd: number, events: number, callback: ReadinessCallback): FdWatcher {
  const id = native.watchFd(fd, events, callback);
  return {
    setEvents: (next: number) => native.watchSetEvents(id, next),
    stop: () => native.watchStop(id),
  };
}

/** Calls `callback(status)` whenever `fd` is readable (status 0) or polling failed (status < 0). */
export function watchReadable(fd: number, callback: (status: number) => void): FdWatch {
  return watchFd(fd, READABLE, (status) => callback(status));
}

/** Calls `callback(status)` whenever `fd` is writable (status 0) or polling failed (status < 0). */
export function watchWritable(fd: number, callback: (status: number) => void): FdWatch {
  return watchFd(fd, WRITABLE, (status) => callback(status));
}
