/**
 * How many of each data-plane worker's slow-path messages the control plane has not taken yet,
 * in shared memory (see tunnel-shared.ts for where):
 *
 *   words 0..63    posted   messages worker i has posted (written by worker i only)
 *   words 64..127  taken    messages of worker i the control plane took (written by it only)
 *
 * The slow-path budgets (src/dataplane/slow-path-budget.ts) cap a rate; they assume the engine's main thread
 * keeps up with it. It does not when a flood leaves it little CPU (two cores, the flood's own
 * kernel work, the workers draining the socket): its queue then grows without end, and with it
 * the delay before the control plane sees anything, a new peer's first packet and its answer
 * included. So a worker also stops posting datagrams from anyone while BACKLOG_LIMIT of its
 * messages wait (src/dataplane/slow-path.ts): the queue stays short whatever the CPU, and the packets
 * that have budgets of their own (the TUN device's, solicited peers', the server's) wait behind
 * at most that many. Counters are 32-bit and compared as differences, so they may wrap. After a
 * restart (below), messages of the earlier run taken late only let the worker post as many more.
 */
import { MAX_DATAPLANE_WORKERS } from '../teredo/constants.js';

export const SLOW_PATH_BACKLOG_BYTES = 2 * MAX_DATAPLANE_WORKERS * 4;

const POSTED = 0;
const TAKEN = MAX_DATAPLANE_WORKERS;

export interface SlowPathBacklog {
  /** Worker `index`, after posting a message. */
  posted(index: number): void;
  /** The control plane, on taking one of worker `index`'s messages. */
  taken(index: number): void;
  /** Worker `index`: its messages not taken yet (never below 0). */
  waiting(index: number): number;
  /**
   * Worker `index`, as it starts: messages of an earlier run of it that were never taken (its
   * port closed under them) no longer count.
   */
  restart(index: number): void;
}

/** The counters at buffer[byteOffset, byteOffset + SLOW_PATH_BACKLOG_BYTES). */
export function slowPathBacklogOver(buffer: SharedArrayBuffer, byteOffset: number): SlowPathBacklog {
  if (byteOffset % 4 !== 0 || byteOffset + SLOW_PATH_BACKLOG_BYTES > buffer.byteLength) {
    throw new RangeError(`no room for the slow-path backlog at byte ${byteOffset}`);
  }
  const words = new Int32Array(buffer, byteOffset, SLOW_PATH_BACKLOG_BYTES / 4);
  const inRange = (index: number): boolean => index >>> 0 === index && index < MAX_DATAPLANE_WORKERS;
  return {
    posted(index: number): void {
      if (inRange(index)) Atomics.store(words, POSTED + index, (words[POSTED + index]! + 1) | 0);
    },
    taken(index: number): void {
      if (inRange(index)) Atomics.store(words, TAKEN + index, (words[TAKEN + index]! + 1) | 0);
    },
    waiting(index: number): number {
      if (!inRange(index)) return 0;
      return Math.max(0, (words[POSTED + index]! - Atomics.load(words, TAKEN + index)) | 0);
    },
    restart(index: number): void {
      if (inRange(index)) Atomics.store(words, POSTED + index, Atomics.load(words, TAKEN + index));
    },
  };
}
