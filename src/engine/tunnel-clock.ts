/** The clock and timers of the tunnel's control plane: injected, so that tests control time. */
import { performance } from 'node:perf_hooks';

export interface TunnelClock {
  /** Monotonic milliseconds. */
  now(): number;
  /** Math.floor(Date.now() / 1000): ping authenticators use the wall clock. */
  wallSeconds(): number;
}

export interface TunnelTimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  setInterval(callback: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

export const SYSTEM_CLOCK: TunnelClock = {
  now: () => performance.now(),
  wallSeconds: () => Math.floor(Date.now() / 1000),
};

export const SYSTEM_TIMERS: TunnelTimers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
  setInterval: (callback, ms) => setInterval(callback, ms),
  clearInterval: (handle) => clearInterval(handle as NodeJS.Timeout),
};
