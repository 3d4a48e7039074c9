/**
 * The NAT type as far as two server addresses can tell it (RFC 4380 section 5.2.1, the
 * symmetric test, with RFC 6081's reason to keep going behind a symmetric NAT; the classes
 * beyond "symmetric or not" follow RFC 6081's intent, not a text read here). Sans-I/O.
 *
 * Once qualification has brought the address up (mapping M1, from the server's primary
 * address), the probe sends one Router Solicitation, without the cone flag, to the server's
 * second address (ServerAddress2, default primary + 1) and reads mapping M2 from the answer's
 * origin indication. It runs beside qualification, never in front of it: qualification's time is
 * unchanged. Up to `tries` RSs `timeoutMs` apart; no answer: 'unknown'.
 *
 * A NAT that kept our port for both addresses is either a cone NAT or a port-preserving symmetric
 * one: both give a fresh destination our port. They differ once a stranger has sent to that port
 * first: a port-preserving symmetric NAT then keeps the port for the stranger's flow and gives our
 * own flow to the stranger another one. The stranger test shows it, from a throwaway socket Q (so
 * that our Teredo port's flows never meet the test's; Linux would map them to the port the test's
 * flow got, for that flow's lifetime):
 *   1. an RS with the cone flag from Q to the primary address: the server answers it from its
 *      second address, a stranger to Q's mapping (the answer reaches Q only through a full cone);
 *   2. after a few round trips, an RS from Q to the second address: its answer tells the port
 *      that our flow to the stranger got.
 *
 *   no-nat                     M1 = M2 = our local address and port
 *   cone-port-preserving       M1 = M2 = our local port, and Q kept its port towards the stranger
 *   symmetric-port-preserving  M1 = M2 = our local port, but Q's flow to the stranger got another
 *   port-preserving            M1 = M2 = our local port; the stranger test got no answer
 *   cone                       M1 = M2, another port
 *   symmetric-sequential       same address, M2's port 1..sequentialStep above M1's (a heuristic:
 *                              other hosts' flows through the NAT between the two RSs widen it)
 *   symmetric                  any other M2 (random ports, or another address)
 *   unknown                    the second address never answered (or none to ask)
 */
import type { TeredoConstants } from './constants.js';
import { judgeQualificationDatagram } from './qualification-filter.js';
import { solicitationWithNonce } from './router-solicitation.js';
import type { SecurityContext } from './security.js';

export const NAT_TYPES = Object.freeze([
  'unknown',
  'no-nat',
  'cone',
  'cone-port-preserving',
  'port-preserving',
  'symmetric-port-preserving',
  'symmetric-sequential',
  'symmetric',
] as const);
export type NatType = (typeof NAT_TYPES)[number];

export const NAT_PROBE = Object.freeze({
  /** Per RS to the second address; the probe never delays qualification, so short is fine. */
  timeoutMs: 2_000,
  tries: 2,
  /** Largest port step read as a sequential NAT. */
  sequentialStep: 16,
  /**
   * The stranger test's wait between its two RSs: this many round trips of the first answer,
   * within the bounds, so that the stranger's datagram has reached the NAT before our RS does.
   */
  strangerWaitRoundTrips: 4,
  strangerWaitMinMs: 300,
  strangerWaitMaxMs: 2_000,
} as const);

/**
 * Whether a stranger's datagram cannot take our port at our NAT: a NAT that changed our port
 * and still showed both server addresses one mapping, or one that kept our port through the
 * stranger test. Behind any other NAT the peer that answers first may find our port taken.
 */
export function portSurvivesStrangers(natType: NatType): boolean {
  return natType === 'cone' || natType === 'cone-port-preserving';
}

export interface Endpoint {
  readonly ipv4: number;
  readonly port: number;
}

/**
 * The class of the NAT that mapped `local` to `first` (primary address) and `second` (null:
 * silent), before the stranger test: 'port-preserving' until that test says more.
 */
export function classifyNat(local: Endpoint, first: Endpoint, second: Endpoint | null): NatType {
  if (second === null) return 'unknown';
  if (first.ipv4 >>> 0 === second.ipv4 >>> 0 && first.port === second.port) {
    if (first.ipv4 >>> 0 === local.ipv4 >>> 0 && first.port === local.port) return 'no-nat';
    return first.port === local.port ? 'port-preserving' : 'cone';
  }
  const step = (second.port - first.port) & 0xffff;
  if (first.ipv4 >>> 0 === second.ipv4 >>> 0 && step >= 1 && step <= NAT_PROBE.sequentialStep) {
    return 'symmetric-sequential';
  }
  return 'symmetric';
}

/**
 * The stranger test's verdict for a port-preserving NAT: Q (bound to `probePort`) was mapped to
 * `afterStranger` for the stranger (null: no answer).
 */
export function classifyStrangerTest(
  first: Endpoint,
  probePort: number,
  afterStranger: Endpoint | null,
): NatType {
  if (afterStranger === null) return 'port-preserving';
  return afterStranger.ipv4 >>> 0 === first.ipv4 >>> 0 && afterStranger.port === probePort
    ? 'cone-port-preserving'
    : 'symmetric-port-preserving';
}

/** Which socket a datagram leaves from: the Teredo service socket, or the stranger test's Q. */
export type ProbeVia = 'service' | 'probe';

export type NatProbeAction =
  | {
      readonly kind: 'send';
      readonly via: ProbeVia;
      readonly datagram: Uint8Array;
      readonly ipv4: number;
      readonly port: number;
    }
  /** Open Q: a UDP socket bound to localIPv4 (our address towards the server), any port. */
  | { readonly kind: 'open-probe-socket'; readonly localIPv4: number }
  | { readonly kind: 'close-probe-socket' }
  | {
      readonly kind: 'classified';
      readonly natType: NatType;
      readonly first: Endpoint;
      readonly second: Endpoint | null;
      /** The stranger test's mapping of Q; null when the test did not run or got no answer. */
      readonly afterStranger: Endpoint | null;
    };

export interface NatProbeOptions {
  readonly security: SecurityContext;
  /** The server's primary IPv4: its answers on either address advertise a prefix embedding it. */
  readonly serverIPv4: number;
  /** Where the probe's RSs go. */
  readonly secondaryIPv4: number;
  readonly constants: TeredoConstants;
}

export interface NatProbe {
  /** A new probe for qualification's mapping `first`, seen from `local`; any running one is dropped. */
  start(local: Endpoint, first: Endpoint, nowMs: number): readonly NatProbeAction[];
  /** The probe's answer on the service socket (consumed), or null: qualification's to judge. */
  offer(
    datagram: Uint8Array,
    offset: number,
    length: number,
    srcPort: number,
    nowMs: number,
  ): readonly NatProbeAction[] | null;
  /** Q is open on `port`, or could not be opened (null). */
  probeSocketOpened(port: number | null, nowMs: number): readonly NatProbeAction[];
  /** A datagram that reached Q: the stranger test's answer, or ignored. */
  offerProbeSocket(
    datagram: Uint8Array,
    offset: number,
    length: number,
    srcPort: number,
    nowMs: number,
  ): readonly NatProbeAction[];
  timer(nowMs: number): readonly NatProbeAction[];
  /** Stops any running probe; closes Q if it is open. */
  stop(): readonly NatProbeAction[];
  /** Infinity when nothing is awaited. */
  nextDeadlineMs(): number;
  /** The last classification ('unknown' before the first). */
  readonly natType: NatType;
}

type Phase = 'idle' | 'second-address' | 'opening' | 'stranger-wait' | 'stranger-answer';

/**
 * Throws RangeError on addresses that are not uint32: programming errors. Longer than 80 lines:
 * one closure holds the phase, nonce, deadline and mappings that every method reads and moves on.
 */
export function createNatProbe(options: NatProbeOptions): NatProbe {
  const { security, constants, serverIPv4, secondaryIPv4 } = options;
  for (const value of [serverIPv4, secondaryIPv4]) {
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new RangeError(`IPv4 ${value}`);
  }
  let natType: NatType = 'unknown';
  let phase: Phase = 'idle';
  let tries = 0;
  let deadline = Number.POSITIVE_INFINITY;
  let sentAt = 0;
  let pendingNonce: Uint8Array | null = null;
  let local: Endpoint = { ipv4: 0, port: 0 };
  let first: Endpoint = { ipv4: 0, port: 0 };
  let second: Endpoint | null = null;
  let probePort = 0;
  let socketOpen = false;
  let waitMs: number = NAT_PROBE.strangerWaitMinMs;
  let stamp = 0;

  function solicit(via: ProbeVia, ipv4: number, nowMs: number, cone = false): NatProbeAction {
    stamp = Math.max(stamp + 1, Math.floor(nowMs)) >>> 0;
    const rs = solicitationWithNonce(security, stamp, ipv4, constants.port, cone);
    if (!cone) {
      tries++;
      sentAt = nowMs;
      deadline = nowMs + NAT_PROBE.timeoutMs;
      pendingNonce = rs.nonce;
    }
    return { kind: 'send', via, datagram: rs.datagram, ipv4: ipv4 >>> 0, port: constants.port };
  }

  function closing(): NatProbeAction[] {
    if (!socketOpen) return [];
    socketOpen = false;
    return [{ kind: 'close-probe-socket' }];
  }

  function finish(found: NatType, afterStranger: Endpoint | null): NatProbeAction[] {
    phase = 'idle';
    pendingNonce = null;
    deadline = Number.POSITIVE_INFINITY;
    natType = found;
    return [...closing(), { kind: 'classified', natType, first, second, afterStranger }];
  }

  function answered(datagram: Uint8Array, offset: number, length: number, srcPort: number): Endpoint | null {
    const verdict = judgeQualificationDatagram(datagram, offset, length, srcPort, {
      nonce: pendingNonce,
      serverIPv4,
      constants,
    });
    if (verdict.kind !== 'accept') return null;
    const { originIPv4, originPort } = verdict.advertisement;
    return { ipv4: originIPv4 >>> 0, port: originPort };
  }

  return {
    start(localEndpoint, firstMapping, nowMs) {
      const actions = closing();
      local = { ipv4: localEndpoint.ipv4 >>> 0, port: localEndpoint.port };
      first = { ipv4: firstMapping.ipv4 >>> 0, port: firstMapping.port };
      second = null;
      phase = 'second-address';
      tries = 0;
      actions.push(solicit('service', secondaryIPv4, nowMs));
      return actions;
    },

    offer(datagram, offset, length, srcPort, nowMs) {
      if (phase !== 'second-address') return null;
      const verdict = judgeQualificationDatagram(datagram, offset, length, srcPort, {
        nonce: pendingNonce,
        serverIPv4,
        constants,
      });
      if (verdict.kind === 'pass') return null;
      if (verdict.kind === 'ignore') {
        // Not our nonce: qualification's answer, or nobody's; qualification judges it.
        if (verdict.reason === 'wrong-nonce' || verdict.reason === 'not-soliciting') return null;
        return [];
      }
      const { originIPv4, originPort } = verdict.advertisement;
      second = { ipv4: originIPv4 >>> 0, port: originPort };
      const found = classifyNat(local, first, second);
      if (found !== 'port-preserving') return finish(found, null);
      const roundTrip = nowMs - sentAt;
      waitMs = Math.min(
        NAT_PROBE.strangerWaitMaxMs,
        Math.max(NAT_PROBE.strangerWaitMinMs, roundTrip * NAT_PROBE.strangerWaitRoundTrips),
      );
      phase = 'opening';
      pendingNonce = null;
      deadline = Number.POSITIVE_INFINITY;
      return [{ kind: 'open-probe-socket', localIPv4: local.ipv4 }];
    },

    probeSocketOpened(port, nowMs) {
      if (phase !== 'opening') return port === null ? [] : [{ kind: 'close-probe-socket' }];
      if (port === null) return finish('port-preserving', null);
      socketOpen = true;
      probePort = port;
      phase = 'stranger-wait';
      deadline = nowMs + waitMs;
      return [solicit('probe', serverIPv4, nowMs, true)];
    },

    offerProbeSocket(datagram, offset, length, srcPort) {
      if (phase !== 'stranger-answer') return [];
      const mapped = answered(datagram, offset, length, srcPort);
      if (mapped === null) return [];
      return finish(classifyStrangerTest(first, probePort, mapped), mapped);
    },

    timer(nowMs) {
      if (!(nowMs >= deadline)) return [];
      if (phase === 'second-address') {
        return tries < NAT_PROBE.tries ? [solicit('service', secondaryIPv4, nowMs)] : finish('unknown', null);
      }
      if (phase === 'stranger-wait') {
        phase = 'stranger-answer';
        tries = 0;
        return [solicit('probe', secondaryIPv4, nowMs)];
      }
      if (phase === 'stranger-answer') {
        return tries < NAT_PROBE.tries
          ? [solicit('probe', secondaryIPv4, nowMs)]
          : finish('port-preserving', null);
      }
      return [];
    },

    stop() {
      phase = 'idle';
      pendingNonce = null;
      deadline = Number.POSITIVE_INFINITY;
      return closing();
    },

    nextDeadlineMs: () => deadline,

    get natType() {
      return natType;
    },
  };
}
