/**
 * Which Teredo server a client uses, following its configured names: ServerAddress, then each
 * FallbackServerAddress in order. The engine has no DNS in its jail: it asks the bootstrap (a
 * `resolve` request; the bootstrap answers only for the configured names, at a bounded rate, and
 * refuses non-global addresses: name-service.ts).
 *
 *   - at start: the primary's address the bootstrap resolved at load, if any, is used at once,
 *     and the primary name is asked for all its addresses and their TTL;
 *   - when the TTL runs out: the name in use is asked again; an answer without the server in use
 *     moves to its first address (a name that moved is followed);
 *   - after each failed qualification round: the next address of the name, and the name asked
 *     again; once every address of the name has left a round unanswered (since it was chosen or
 *     last answered), the next server name, cyclically, if fallbacks are configured;
 *   - a failed resolution is retried with back-off (1 s, doubling, at most 30 s): never fatal,
 *     the client qualifies once a name resolves; with fallbacks, a name that has never resolved
 *     gives way to the next one at its retry.
 *
 * A server that answers is kept: the client goes back to the primary only when the one in use
 * fails in turn, or the engine restarts (a new server list restarts it: reload-plan.ts).
 */
import type { Logger } from '../log/logger.js';
import type { EngineToBootstrap, ResolvedMessage } from '../ipc/bootstrap-engine-messages.js';
import { formatIPv4, parseIPv4 } from '../teredo/ipv4.js';
import type { TunnelTimers } from './tunnel-clock.js';

export const RESOLVE_BACKOFF = Object.freeze({ firstMs: 1000, maxMs: 30_000 });

/** A configured server name: 0 is ServerAddress, 1.. the fallbacks in file order. */
export interface FollowedServer {
  readonly name: string;
  readonly rank: number;
}

export interface ServerFollowerOptions {
  /** ServerAddress as configured. */
  readonly name: string;
  /** FallbackServerAddress, in order; default none. */
  readonly fallbacks?: readonly string[];
  /** What the bootstrap resolved at load for ServerAddress; null when the name did not resolve then. */
  readonly initial: number | null;
  readonly send: (message: EngineToBootstrap) => void;
  readonly timers: TunnelTimers;
  readonly log: Logger;
  /** Qualify with this server from now on. */
  readonly use: (ipv4: number, server: FollowedServer) => void;
}

export interface ServerFollower {
  start(): void;
  /** The bootstrap's answer; false when it is not the one awaited. */
  resolved(message: ResolvedMessage): boolean;
  /** A qualification round went unanswered. */
  roundFailed(): void;
  /** The server in use answered (its rounds count afresh). */
  answered(): void;
  stop(): void;
  /** The addresses of the name in use as last resolved (uint32). */
  readonly addresses: readonly number[];
  /** The name the server in use comes from; null before any is used. */
  readonly server: FollowedServer | null;
}

interface NameState extends FollowedServer {
  /** As last resolved (kept while the name is not in use, for a quick return). */
  addresses: number[];
  index: number;
}

/**
 * Longer than 80 lines: the names, the one chosen, the server in use, the pending request and the
 * retry timer are shared by the five methods and their helpers, each short.
 */
export function createServerFollower(options: ServerFollowerOptions): ServerFollower {
  const { send, timers, log, use } = options;
  const names: NameState[] = [options.name, ...(options.fallbacks ?? [])].map((name, rank) => ({
    name,
    rank,
    addresses: rank === 0 && options.initial !== null ? [options.initial] : [],
    index: 0,
  }));
  /** The name chosen; the server in use may still be another name's until this one resolves. */
  let current = 0;
  let inUse: { readonly rank: number; readonly ipv4: number } | null = null;
  /** Rounds left unanswered since the current name was chosen or last answered. */
  let unanswered = 0;
  let pending: { readonly id: number; readonly rank: number } | null = null;
  let nextId = 1;
  let timer: unknown = null;
  let failures = 0;
  let running = false;
  // Never empty: the primary is always there.
  const chosen = (): NameState => names[current] as NameState;

  const ask = (): void => {
    if (!running || pending !== null) return;
    if (timer !== null) timers.clearTimeout(timer);
    timer = null;
    pending = { id: nextId, rank: current };
    nextId = (nextId % 0xffff_ffff) + 1;
    send({ type: 'resolve', id: pending.id, name: chosen().name });
  };

  const askIn = (ms: number): void => {
    if (timer !== null) timers.clearTimeout(timer);
    timer = timers.setTimeout(() => {
      timer = null;
      ask();
    }, ms);
  };

  const switchTo = (state: NameState, next: number): void => {
    state.index = next;
    const server = state.addresses[next];
    if (server === undefined) return;
    inUse = { rank: state.rank, ipv4: server };
    use(server, { name: state.name, rank: state.rank });
  };

  /** The next configured name: its last known address at once, and asked again. */
  const nextName = (): void => {
    current = (current + 1) % names.length;
    unanswered = 0;
    const state = chosen();
    log.notice(
      { name: state.name, fallback: state.rank > 0 },
      'Trying the next Teredo server %s',
      state.name,
    );
    if (state.addresses.length > 0) switchTo(state, 0);
  };

  const failed = (state: NameState, reason: string): void => {
    failures += 1;
    const delay = Math.min(RESOLVE_BACKOFF.firstMs * 2 ** (failures - 1), RESOLVE_BACKOFF.maxMs);
    log.debug({ name: state.name, reason, retryMs: delay }, 'Teredo server name not resolved');
    // Nothing to try under this name: the next one may resolve.
    if (state.addresses.length === 0 && names.length > 1 && state.rank === current) nextName();
    askIn(delay);
  };

  const learnt = (state: NameState, found: readonly string[], ttlSeconds: number): void => {
    failures = 0;
    state.addresses = found.map((text) => parseIPv4(text) ?? 0).filter((ipv4) => ipv4 !== 0);
    log.info({ name: state.name, addresses: found, ttlSeconds }, 'Teredo server name resolved');
    if (state.rank !== current) return;
    askIn(ttlSeconds * 1000);
    const kept = inUse === null || inUse.rank !== state.rank ? -1 : state.addresses.indexOf(inUse.ipv4);
    if (kept >= 0) state.index = kept;
    else switchTo(state, 0);
  };

  return {
    start(): void {
      running = true;
      if (chosen().addresses.length > 0) switchTo(chosen(), 0);
      ask();
    },

    resolved(message: ResolvedMessage): boolean {
      if (pending === null || message.id !== pending.id) return false;
      const state = names[pending.rank] ?? chosen();
      pending = null;
      if (!running) return true;
      const { result } = message;
      const wasChosen = state.rank === current;
      if (result.ok) learnt(state, result.addresses, result.ttlSeconds);
      else if (wasChosen) failed(state, result.reason);
      // The answer was for a name no longer chosen: now ask for the chosen one.
      if (!wasChosen) ask();
      return true;
    },

    roundFailed(): void {
      unanswered += 1;
      const state = chosen();
      if (names.length > 1 && unanswered >= Math.max(1, state.addresses.length)) {
        nextName();
      } else if (state.addresses.length > 1) {
        const next = (state.index + 1) % state.addresses.length;
        log.notice(
          { name: state.name, server: formatIPv4(state.addresses[next] ?? 0) },
          'Trying the next address of the Teredo server name',
        );
        switchTo(state, next);
      }
      ask();
    },

    answered(): void {
      unanswered = 0;
    },

    stop(): void {
      running = false;
      if (timer !== null) timers.clearTimeout(timer);
      timer = null;
    },

    get addresses(): readonly number[] {
      return chosen().addresses;
    },

    get server(): FollowedServer | null {
      const state = inUse === null ? undefined : names[inUse.rank];
      return state === undefined ? null : { name: state.name, rank: state.rank };
    },
  };
}
