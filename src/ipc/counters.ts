/**
 * Accept/drop counters shared by the data-plane workers and the engine: one row of Float64
 * per worker in a SharedArrayBuffer. Each worker writes only its own row (no atomics needed:
 * one writer per slot, and an aligned 64-bit read is not torn on the platforms we run on);
 * the engine sums the rows when asked for a summary and at exit.
 */
export function createCounterBlock(names: readonly string[], rows: number): SharedArrayBuffer {
  return new SharedArrayBuffer(Math.max(1, names.length * rows) * Float64Array.BYTES_PER_ELEMENT);
}

/** Worker `row`'s counters, indexed like `names`. */
export function counterRow(block: SharedArrayBuffer, names: readonly string[], row: number): Float64Array {
  const start = row * names.length;
  if (!Number.isInteger(row) || row < 0 || (start + names.length) * 8 > block.byteLength) {
    throw new RangeError(`counter row ${row} is outside the block`);
  }
  return new Float64Array(block, start * Float64Array.BYTES_PER_ELEMENT, names.length);
}

/** Every counter summed over all rows, by name. */
export function sumCounters(block: SharedArrayBuffer, names: readonly string[]): Record<string, number> {
  const all = new Float64Array(block);
  const rows = names.length === 0 ? 0 : Math.floor(all.length / names.length);
  const totals: Record<string, number> = {};
  names.forEach((name, index) => {
    let total = 0;
    for (let row = 0; row < rows; row += 1) total += all[row * names.length + index] ?? 0;
    totals[name] = total;
  });
  return totals;
}
