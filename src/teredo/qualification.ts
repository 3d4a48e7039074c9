/**
 * The client's qualification and maintenance state machine (RFC 4380 section 5.2.1, restricted
 * half only, as Miredo does it; reference section 4.6), sans-I/O: datagrams and clock ticks go
 * in, actions (send, up, down, log) come out. Times are monotonic milliseconds from the caller.
 *
 *   start ──> RS ──(RA with our nonce)──> up ──(refresh interval after that RS)──> RS ...
 *              │ no answer within T: next RS at once, N tries in all (t = 0, 4, 8 s)
 *              └─ N tries unanswered: "No reply from Teredo server", down if up,
 *                 next RS RestartDelay after the last one
 *
 * The RS nonce hashes a per-attempt timestamp (the reply deadline in seconds, as Miredo). The
 * address keeps its RFC 5991 random flags while prefix, server and mapping stay the same, and
 * gets new ones when any of them changes. Going down forgets the address, so the next one has
 * new flags too. Deviation: we refresh every 20 s by default (Miredo: 30 s, which lets a Linux
 * NAT forget the mapping just before each refresh), and RestartDelay is 20 s (Miredo: 100 s), so
 * that a server down and back is found again within one refresh interval.
 *
 * Output: a list of actions, unlike the server's caller buffer (server.ts) and the tunnel core's
 * sink (relay-types.ts, TunnelOutput), because its actions are of kinds the caller carries out
 * in different places (send an RS, log Miredo's message, bring the interface up or down through
 * the helper) and in order (the new address is logged with the up that follows it). It runs a
 * few times a minute, so a list per event costs nothing; the RS it sends is a new array for the
 * same reason.
 */
import { encodeTeredoAddress, makeTeredoFlags, teredoFlagsAt } from './address.js';
import type { TeredoAddressFields } from './address.js';
import { bytesEqual } from './bytes.js';
import { TEREDO_CONSTANTS } from './constants.js';
import type { TeredoConstants } from './constants.js';
import {
  judgeQualificationDatagram,
  QUALIFICATION_IGNORE_REASONS,
  QUALIFICATION_PASS_REASONS,
} from './qualification-filter.js';
import type { QualificationIgnoreReason, QualificationPassReason } from './qualification-filter.js';
import type { RouterAdvertisement } from './router-advertisement.js';
import { solicitationWithNonce } from './router-solicitation.js';
import { flagBits } from './security.js';
import type { SecurityContext } from './security.js';

export {
  judgeQualificationDatagram,
  QUALIFICATION_IGNORE_REASONS,
  QUALIFICATION_PASS_REASONS,
} from './qualification-filter.js';
export type {
  QualificationExpectation,
  QualificationIgnoreReason,
  QualificationPassReason,
  QualificationVerdict,
} from './qualification-filter.js';

/** Miredo's log texts. */
export const QUALIFICATION_MESSAGES = Object.freeze({
  newAddress: 'New Teredo address/MTU',
  noReply: 'No reply from Teredo server',
  lost: 'Lost Teredo connectivity',
  authFailed: 'Authentication with server failed.',
  timeDrift: 'Too much time drift. Resynchronizing.',
  multiplePrefixes: 'Multiple Teredo prefixes received',
  /** Ours: Miredo takes any prefix, but our bootstrap lets a client use only 2001:0::/32. */
  foreignPrefix: 'Teredo server advertised a prefix other than 2001:0::/32: ignored',
} as const);

export interface QualificationOptions {
  readonly security: SecurityContext;
  /** The server's IPv4 (resolved by the caller): RSs go to it, the RA's prefix must embed it. */
  readonly serverIPv4: number;
  readonly constants?: TeredoConstants;
  /** Next RS this long after the last answered one; default constants.clientRefreshIntervalMs (20 s). */
  readonly refreshIntervalMs?: number;
  /**
   * Random bits source for flags (tests pass a fixed one), called with the timestamp of the RS
   * whose answer brings the new address; default uses security.flagBits. Masked to 0x3cff.
   */
  readonly randomFlagBits?: (timestamp: number) => number;
}

export type QualificationAction =
  | { readonly kind: 'send'; readonly datagram: Uint8Array; readonly ipv4: number; readonly port: number }
  /** First qualification, a new address or a new MTU. `previous`: the address this one replaces, to remove. */
  | {
      readonly kind: 'up';
      readonly address: Uint8Array;
      readonly mtu: number;
      readonly previous: Uint8Array | null;
    }
  /** Lost the server while up: remove `previous`. */
  | { readonly kind: 'down'; readonly previous: Uint8Array }
  | {
      readonly kind: 'log';
      readonly level: 'info' | 'notice' | 'warning' | 'error';
      readonly message: string;
    };

export interface QualificationState {
  readonly up: boolean;
  /** Our Teredo address (a copy) and MTU while up; null and 0 otherwise. */
  readonly address: Uint8Array | null;
  readonly mtu: number;
  /** Our NAT mapping (in clear) while up; 0 otherwise. */
  readonly mappedIPv4: number;
  readonly mappedPort: number;
  readonly serverIPv4: number;
  /** RSs sent in the current round while one awaits an answer (1..retries); 0 between rounds. */
  readonly solicitations: number;
}

export interface QualificationCounters {
  readonly solicitationsSent: number;
  readonly advertisementsAccepted: number;
  /** Rounds of `qualificationRetries` unanswered RSs. */
  readonly roundsFailed: number;
  /** Datagrams handed back to the caller (offer returned null), by reason. */
  readonly passed: Readonly<Record<QualificationPassReason, number>>;
  /** Datagrams consumed without effect, by reason. */
  readonly ignored: Readonly<Record<QualificationIgnoreReason, number>>;
}

export interface Qualification {
  /** Sends the first RS. Call once. */
  start(nowMs: number): readonly QualificationAction[];
  /** A received datagram; null when it is not for qualification (the caller goes on with it). */
  offer(
    datagram: Uint8Array,
    offset: number,
    length: number,
    srcIPv4: number,
    srcPort: number,
    nowMs: number,
  ): readonly QualificationAction[] | null;
  /** Call at (or after) nextDeadlineMs(); earlier calls do nothing. */
  timer(nowMs: number): readonly QualificationAction[];
  /**
   * A new round now (SIGHUP, a network change) instead of at the next refresh: the identity is
   * kept, so an answer with the same mapping changes nothing, another one replaces the address,
   * and an unanswered round goes down as usual. A round under way starts afresh (its count of
   * RSs back to zero, so that an uplink that comes back late in a round is not declared lost a
   * moment later), its next RS at once, or a second after the last one (REQUALIFY_SPACING_MS)
   * when that went out less than a second ago.
   */
  requalify(nowMs: number): readonly QualificationAction[];
  /** When timer() is next due; Infinity before start(). */
  nextDeadlineMs(): number;
  /** A snapshot of the current state. */
  readonly state: QualificationState;
  readonly counters: QualificationCounters;
}

type Phase = 'stopped' | 'soliciting' | 'resting';

/** The least time between two RSs that requalify() sends within one round (SIGHUPs in a row, say). */
export const REQUALIFY_SPACING_MS = 1000;

interface Identity {
  readonly address: Uint8Array;
  readonly mtu: number;
  readonly mappedIPv4: number;
  readonly mappedPort: number;
}

/** `fields` with the flags of `current`, if that gives `current` back (same prefix, server and mapping); else null. */
function keepFlags(current: Uint8Array, fields: Omit<TeredoAddressFields, 'flags'>): Uint8Array | null {
  const candidate = encodeTeredoAddress({ ...fields, flags: teredoFlagsAt(current, 0) });
  return bytesEqual(candidate, 0, current, 0, 16) ? candidate : null;
}

function zeroCounts<K extends string>(keys: readonly K[]): Record<K, number> {
  const counts = {} as Record<K, number>;
  for (const key of keys) counts[key] = 0;
  return counts;
}

/**
 * Longer than 80 lines: one state machine (RFC 4380 section 5.2.1): start, offer and timer read and
 * change the same phase, nonce, identity and deadlines; kept in one closure so that every
 * transition is visible with the state it changes.
 */
export function createQualification(options: QualificationOptions): Qualification {
  const constants = options.constants ?? TEREDO_CONSTANTS;
  const serverIPv4 = options.serverIPv4;
  const refreshIntervalMs = options.refreshIntervalMs ?? constants.clientRefreshIntervalMs;
  if (!Number.isInteger(serverIPv4) || serverIPv4 < 0 || serverIPv4 > 0xffffffff) {
    throw new RangeError(`server IPv4 must be a uint32, got ${String(serverIPv4)}`);
  }
  if (!Number.isFinite(refreshIntervalMs) || refreshIntervalMs <= 0) {
    throw new RangeError(`refresh interval must be positive, got ${String(refreshIntervalMs)}`);
  }
  const security = options.security;
  const randomFlagBits = options.randomFlagBits ?? ((timestamp: number) => flagBits(security, timestamp));

  let phase: Phase = 'stopped';
  /** While soliciting: when the pending RS times out. While resting: when the next RS is due. */
  let deadline = Number.POSITIVE_INFINITY;
  let solicitations = 0;
  /** When the last RS went out (its reply deadline minus T, drift included). */
  let lastSentAt = Number.NEGATIVE_INFINITY;
  let pendingNonce: Uint8Array | null = null;
  /** Timestamp hashed into the last nonce; strictly increasing so every RS has a fresh nonce. */
  let lastTimestamp = Number.NEGATIVE_INFINITY;
  let identity: Identity | null = null;
  let noReplyLogged = false;
  /** A foreign prefix is logged once per RS, however often its answer is replayed. */
  let foreignPrefixLogged = false;

  const counters = {
    solicitationsSent: 0,
    advertisementsAccepted: 0,
    roundsFailed: 0,
    passed: zeroCounts(QUALIFICATION_PASS_REASONS),
    ignored: zeroCounts(QUALIFICATION_IGNORE_REASONS),
  };

  /** Sends the RS that was due at `dueMs` (Miredo: deadline += T, resynchronised when in the past). */
  function solicit(nowMs: number, dueMs: number, actions: QualificationAction[]): void {
    deadline = dueMs + constants.qualificationTimeoutMs;
    if (deadline < nowMs) {
      actions.push({ kind: 'log', level: 'warning', message: QUALIFICATION_MESSAGES.timeDrift });
      deadline = nowMs + constants.qualificationTimeoutMs;
    }
    lastSentAt = deadline - constants.qualificationTimeoutMs;
    lastTimestamp = Math.max(Math.floor(deadline / 1000), lastTimestamp + 1);
    const { nonce: expected, datagram } = solicitationWithNonce(
      security,
      lastTimestamp,
      serverIPv4,
      constants.port,
    );
    pendingNonce = expected;
    foreignPrefixLogged = false;
    phase = 'soliciting';
    solicitations++;
    counters.solicitationsSent++;
    actions.push({ kind: 'send', datagram, ipv4: serverIPv4, port: constants.port });
  }

  /** When the last RS went out (requalify() may move the deadline of a round under way). */
  function lastSolicitationAt(): number {
    return lastSentAt;
  }

  function giveUp(actions: QualificationAction[]): void {
    counters.roundsFailed++;
    if (!noReplyLogged) {
      actions.push({ kind: 'log', level: 'info', message: QUALIFICATION_MESSAGES.noReply });
      noReplyLogged = true;
    }
    if (identity !== null) {
      actions.push({ kind: 'log', level: 'notice', message: QUALIFICATION_MESSAGES.lost });
      actions.push({ kind: 'down', previous: identity.address.slice() });
      identity = null;
    }
    pendingNonce = null;
    solicitations = 0;
    phase = 'resting';
    deadline = lastSolicitationAt() + constants.restartDelayMs;
  }

  function accept(advertisement: Readonly<RouterAdvertisement>, actions: QualificationAction[]): void {
    counters.advertisementsAccepted++;
    const fields = {
      prefix: advertisement.prefix,
      server: advertisement.serverIPv4,
      port: advertisement.originPort,
      client: advertisement.originIPv4,
    };
    const previous = identity;
    const kept = previous === null ? null : keepFlags(previous.address, fields);
    const addressChanged = kept === null;
    const address =
      kept ??
      encodeTeredoAddress({ ...fields, flags: makeTeredoFlags(false, randomFlagBits(lastTimestamp >>> 0)) });
    identity = {
      address,
      mtu: advertisement.mtu,
      mappedIPv4: advertisement.originIPv4,
      mappedPort: advertisement.originPort,
    };
    if (previous === null || addressChanged || previous.mtu !== advertisement.mtu) {
      actions.push({ kind: 'log', level: 'notice', message: QUALIFICATION_MESSAGES.newAddress });
      actions.push({
        kind: 'up',
        address: address.slice(),
        mtu: advertisement.mtu,
        previous: previous !== null && addressChanged ? previous.address.slice() : null,
      });
    }
    noReplyLogged = false;
    pendingNonce = null;
    solicitations = 0;
    phase = 'resting';
    deadline = lastSolicitationAt() + refreshIntervalMs;
  }

  return {
    start(nowMs) {
      if (phase !== 'stopped') throw new Error('qualification already started');
      const actions: QualificationAction[] = [];
      solicit(nowMs, nowMs, actions);
      return actions;
    },

    offer(datagram, offset, length, _srcIPv4, srcPort) {
      const verdict = judgeQualificationDatagram(datagram, offset, length, srcPort, {
        nonce: pendingNonce,
        serverIPv4,
        constants,
      });
      switch (verdict.kind) {
        case 'pass':
          counters.passed[verdict.reason]++;
          return null;
        case 'ignore':
          counters.ignored[verdict.reason]++;
          if (verdict.reason === 'auth-failed') {
            return [{ kind: 'log', level: 'error', message: QUALIFICATION_MESSAGES.authFailed }];
          }
          if (verdict.reason === 'multiple-prefixes') {
            return [{ kind: 'log', level: 'warning', message: QUALIFICATION_MESSAGES.multiplePrefixes }];
          }
          if (verdict.reason === 'wrong-prefix' && !foreignPrefixLogged) {
            foreignPrefixLogged = true;
            return [{ kind: 'log', level: 'warning', message: QUALIFICATION_MESSAGES.foreignPrefix }];
          }
          return [];
        case 'accept': {
          const actions: QualificationAction[] = [];
          accept(verdict.advertisement, actions);
          return actions;
        }
      }
    },

    timer(nowMs) {
      const actions: QualificationAction[] = [];
      if (phase === 'stopped' || !(nowMs >= deadline)) return actions;
      if (phase === 'resting') {
        solicitations = 0;
        solicit(nowMs, deadline, actions);
      } else if (solicitations < constants.qualificationRetries) {
        solicit(nowMs, deadline, actions);
      } else {
        giveUp(actions);
      }
      return actions;
    },

    requalify(nowMs) {
      const actions: QualificationAction[] = [];
      if (phase === 'stopped') return actions;
      solicitations = 0;
      const earliest = phase === 'soliciting' ? lastSolicitationAt() + REQUALIFY_SPACING_MS : nowMs;
      if (earliest <= nowMs) solicit(nowMs, nowMs, actions);
      else deadline = earliest;
      return actions;
    },

    nextDeadlineMs() {
      return deadline;
    },

    get state(): QualificationState {
      return Object.freeze({
        up: identity !== null,
        address: identity === null ? null : identity.address.slice(),
        mtu: identity?.mtu ?? 0,
        mappedIPv4: identity?.mappedIPv4 ?? 0,
        mappedPort: identity?.mappedPort ?? 0,
        serverIPv4,
        solicitations,
      });
    },

    counters,
  };
}
