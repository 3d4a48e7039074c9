/** Memory advice for large shared tables (src/os/native/memory.cc). */
import { native } from './native.js';

export type HugePageAdvice =
  { readonly ok: true; readonly bytes: number } | { readonly ok: false; readonly errno: number };

/**
 * Asks for transparent huge pages on `buffer`'s whole 2 MiB pages (madvise MADV_HUGEPAGE), before
 * its pages are first touched: a table read at random by several threads then costs one TLB
 * entry per 2 MiB instead of one per 4 KiB. A kernel without THP refuses (EINVAL): the table
 * works the same, only slower, so the caller decides whether to mention it.
 */
export function adviseHugePages(buffer: SharedArrayBuffer | ArrayBuffer): HugePageAdvice {
  const result = native.adviseHugePages(new Uint8Array(buffer));
  return result >= 0 ? { ok: true, bytes: result } : { ok: false, errno: -result };
}
