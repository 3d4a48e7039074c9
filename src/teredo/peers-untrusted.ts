/**
 * The peer table's list of untrusted peers, newest first, threaded through the records (words
 * `newer` and `older` hold a slot + 1, 0 for none). When the table is full, insert evicts the
 * newest: a flood of spoofed sources then only ever replaces its own latest entry, while trusted
 * peers and older pending ones stay. Writer thread only; O(1) per operation.
 */
import { HEADER_NEWEST_UNTRUSTED, RECORD_NEWER, RECORD_OLDER, recordBase } from './peers-layout.js';

/** Makes `slot` the newest untrusted peer. */
export function linkNewestUntrusted(words: Int32Array, slot: number): void {
  const base = recordBase(slot);
  const previousNewest = words[HEADER_NEWEST_UNTRUSTED]!;
  words[base + RECORD_NEWER] = 0;
  words[base + RECORD_OLDER] = previousNewest;
  if (previousNewest !== 0) words[recordBase(previousNewest - 1) + RECORD_NEWER] = slot + 1;
  words[HEADER_NEWEST_UNTRUSTED] = slot + 1;
}

export function unlinkUntrusted(words: Int32Array, slot: number): void {
  const base = recordBase(slot);
  const newer = words[base + RECORD_NEWER]!;
  const older = words[base + RECORD_OLDER]!;
  if (newer !== 0) words[recordBase(newer - 1) + RECORD_OLDER] = older;
  else words[HEADER_NEWEST_UNTRUSTED] = older;
  if (older !== 0) words[recordBase(older - 1) + RECORD_NEWER] = newer;
  words[base + RECORD_NEWER] = 0;
  words[base + RECORD_OLDER] = 0;
}

/** After an untrusted record was copied, links included, to `slot`: point its neighbours there. */
export function relinkMovedUntrusted(words: Int32Array, slot: number): void {
  const base = recordBase(slot);
  const newer = words[base + RECORD_NEWER]!;
  const older = words[base + RECORD_OLDER]!;
  if (newer !== 0) words[recordBase(newer - 1) + RECORD_OLDER] = slot + 1;
  else words[HEADER_NEWEST_UNTRUSTED] = slot + 1;
  if (older !== 0) words[recordBase(older - 1) + RECORD_NEWER] = slot + 1;
}

/** The newest untrusted peer's slot, or -1. */
export function newestUntrusted(words: Int32Array): number {
  return words[HEADER_NEWEST_UNTRUSTED]! - 1;
}
