/** Names for the negative errno values the hot-path functions return instead of throwing. */
import { constants } from 'node:os';

const NAMES: ReadonlyMap<number, string> = (() => {
  const names = new Map<number, string>();
  for (const [name, value] of Object.entries(constants.errno)) {
    if (!names.has(value)) names.set(value, name);
  }
  return names;
})();

/** 'EAGAIN' for 11 or -11; `E<n>` when unknown. */
export function errnoName(errno: number): string {
  const value = Math.abs(errno);
  return NAMES.get(value) ?? `E${value}`;
}
