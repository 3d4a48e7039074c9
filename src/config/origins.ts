/** The values a configuration file set, each remembered with the line it came from. */
import type { ConfigOrigins } from './diagnostic.js';
import type { Setting } from './setting-reader.js';

export interface OriginTracker<C> {
  /** The line of each field the file set; filled in by `valueOf`. */
  readonly origins: ConfigOrigins<C>;
  /** The value of a setting the file set, noting its line as `field`'s origin; else undefined. */
  readonly valueOf: <K extends keyof C, T extends C[K]>(field: K, setting: Setting<T>) => T | undefined;
}

export function trackOrigins<C>(): OriginTracker<C> {
  const origins: { -readonly [K in keyof C]?: number } = {};
  return {
    origins,
    valueOf: (field, setting) => {
      if (setting.kind !== 'set') return undefined;
      origins[field] = setting.entry.line;
      return setting.value;
    },
  };
}
