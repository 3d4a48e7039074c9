/**
 * Miredo's lookup rule: directives are kept in file order, reading one takes its first
 * occurrence, and whatever nobody took (unknown names, repeats, directives the chosen mode does
 * not read) is reported as superfluous at the end.
 */
import type { Diagnostic } from './diagnostic.js';
import { asciiLowerCase } from './tokenize.js';
import type { ConfigEntry } from './tokenize.js';

export class DirectiveList {
  private readonly pending: ConfigEntry[];
  private readonly takenAt = new Map<string, number>();

  constructor(entries: readonly ConfigEntry[]) {
    this.pending = [...entries];
  }

  /** Removes and returns the first occurrence of `name` (case-insensitive). */
  take(name: string): ConfigEntry | undefined {
    const key = asciiLowerCase(name);
    const index = this.pending.findIndex((entry) => entry.key === key);
    if (index < 0) return undefined;
    const [entry] = this.pending.splice(index, 1);
    if (entry !== undefined) this.takenAt.set(key, entry.line);
    return entry;
  }

  /** Removes and returns every occurrence of `name`, in file order (a repeatable directive). */
  takeAll(name: string): ConfigEntry[] {
    const key = asciiLowerCase(name);
    const taken: ConfigEntry[] = [];
    // In place, without spreading: a file may hold more directives than a call takes arguments.
    let kept = 0;
    for (const entry of this.pending) {
      if (entry.key === key) taken.push(entry);
      else this.pending[kept++] = entry;
    }
    this.pending.length = kept;
    return taken;
  }

  /**
   * One warning per directive left over. `notRead` maps a lower-case name that is valid in
   * this file but not read in the current mode to the reason shown.
   */
  superfluous(notRead: ReadonlyMap<string, string>): Diagnostic[] {
    return this.pending.map((entry) => {
      const firstLine = this.takenAt.get(entry.key);
      const message =
        firstLine !== undefined
          ? `duplicate directive (already set at line ${firstLine}); ignored`
          : (notRead.get(entry.key) ?? 'unknown directive; ignored');
      return { file: entry.file, line: entry.line, directive: entry.name, severity: 'warning', message };
    });
  }
}
