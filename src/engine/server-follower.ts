/**
 * Which Teredo server a client uses, following its configured name. The engine has no DNS in
 * its jail: it asks the bootstrap (a `resolve` request; the bootstrap answers only for the
 * configured name, at a bounded rate, and refuses non-global addresses: name-service.ts).
 *
 *   - at start: the address the bootstrap resolved at load, if any, is used at once, and the
 *     name is asked for all its addresses and their TTL;
 *   - when the TTL runs out: asked again; an answer without the server in use moves to its first
 *     address (a name that moved is followed);
 *   - after each failed qualification round: the next address of the name, and the name asked
 *     again;
 *   - a failed resolution is retried with back-off (1 s, doubling, at most 30 s): never fatal,
 *     the client qualifies once the name resolves.
 */
import type { Logger } from '../log/logger.js';
import type { EngineToBootstrap, ResolvedMessage } from '../ipc/bootstrap-engine-messages.js';
import { formatIPv4, parseIPv4 } from '../teredo/ipv4.js';
import type { TunnelTimers } from './tunnel-clock.js';

export const RESOLVE_BACKOFF = Object.freeze({ firstMs: 1000, maxMs: 30_000 });

export interface ServerFollowerOptions {
  /** ServerAddress as configured. */
  readonly name: string;
  /** What the bootstrap resolved at load; null when the name did not resolve then. */
  readonly initial: number | null;
  readonly send: (message: EngineToBootstrap) => void;
  readonly timers: TunnelTimers;
  readonly log: Logger;
  /** Qualify with this server from now on. */
  readonly use: (ipv4: number) => void;
}

export interface ServerFollower {
  start(): void;
  /** The bootstrap's answer; false when it is not the one awaited. */
  resolved(message: ResolvedMessage): boolean;
  /** A qualification round went unanswered. */
  roundFailed(): void;
  stop(): void;
  /** The name's addresses as last resolved (uint32), the one in use among them. */
  readonly addresses: readonly number[];
}

/**
 * Longer than 80 lines: the addresses, the one in use, the pending request and the retry timer
 * are shared by the four methods and their two helpers, each short.
 */
export function createServerFollower(options: ServerFollowerOptions): ServerFollower {
  const { name, send, timers, log, use } = options;
  let addresses: number[] = options.initial === null ? [] : [options.initial];
  let index = 0;
  let pending: number | null = null;
  let nextId = 1;
  let timer: unknown = null;
  let failures = 0;
  let running = false;

  const ask = (): void => {
    if (!running || pending !== null) return;
    if (timer !== null) timers.clearTimeout(timer);
    timer = null;
    pending = nextId;
    nextId = (nextId % 0xffff_ffff) + 1;
    send({ type: 'resolve', id: pending, name });
  };

  const askIn = (ms: number): void => {
    if (timer !== null) timers.clearTimeout(timer);
    timer = timers.setTimeout(() => {
      timer = null;
      ask();
    }, ms);
  };

  const switchTo = (next: number): void => {
    index = next;
    const server = addresses[index];
    if (server !== undefined) use(server);
  };

  return {
    start(): void {
      running = true;
      if (addresses.length > 0) switchTo(0);
      ask();
    },

    resolved(message: ResolvedMessage): boolean {
      if (message.id !== pending) return false;
      pending = null;
      if (!running) return true;
      const { result } = message;
      if (!result.ok) {
        failures += 1;
        const delay = Math.min(RESOLVE_BACKOFF.firstMs * 2 ** (failures - 1), RESOLVE_BACKOFF.maxMs);
        log.debug({ name, reason: result.reason, retryMs: delay }, 'Teredo server name not resolved');
        askIn(delay);
        return true;
      }
      failures = 0;
      const inUse = addresses[index];
      const next = result.addresses.map((text) => parseIPv4(text) ?? 0).filter((ipv4) => ipv4 !== 0);
      addresses = next;
      log.info(
        { name, addresses: result.addresses, ttlSeconds: result.ttlSeconds },
        'Teredo server name resolved',
      );
      askIn(result.ttlSeconds * 1000);
      const kept = inUse === undefined ? -1 : next.indexOf(inUse);
      if (kept >= 0) index = kept;
      else switchTo(0);
      return true;
    },

    roundFailed(): void {
      if (addresses.length > 1) {
        const next = (index + 1) % addresses.length;
        log.notice(
          { name, server: formatIPv4(addresses[next] ?? 0) },
          'Trying the next address of the Teredo server name',
        );
        switchTo(next);
      }
      ask();
    },

    stop(): void {
      running = false;
      if (timer !== null) timers.clearTimeout(timer);
      timer = null;
    },

    get addresses(): readonly number[] {
      return addresses;
    },
  };
}
