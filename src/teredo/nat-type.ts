/**
 * The NAT type as far as two server addresses can tell it (RFC 4380 section 5.2.1, the
 * symmetric test, with RFC 6081's reason to keep going behind a symmetric NAT; the classes
 * beyond "symmetric or not" follow RFC 6081's intent, not a text read here). Sans-I/O.
 *
 * Once qualification has brought the address up (mapping M1, from the server's primary
 * address), the probe first sends the primary address a Router Solicitation with the cone flag
 * (RFC 4380's own order: the cone test comes first), which a server answers from its second
 * address: a datagram from a destination we never sent to. A port-preserving symmetric NAT keeps
 * that stranger's connection-tracking entry and so must give our next flow to that address
 * another port; a cone NAT (whatever its filtering) maps that flow like every other. Its answer,
 * if our NAT lets it in, carries a nonce we do not keep: qualification ignores it. After
 * `strangerDelayMs` the probe sends one Router Solicitation, without the cone flag, to the
 * second address (ServerAddress2, default primary + 1) and reads mapping M2 from the answer's
 * origin indication. It runs beside qualification, never in front of it: qualification's time is
 * unchanged. Up to `tries` RSs `timeoutMs` apart; no answer: 'unknown'.
 *
 *   no-nat                M1 = M2 = our local address and port
 *   cone-port-preserving  M1 = M2, port = our local port: a cone NAT that keeps ports (a
 *                         port-preserving symmetric NAT shows another port here, the stranger
 *                         holding ours; without that step it would look the same)
 *   cone                  M1 = M2, another port
 *   symmetric-sequential  same address, M2's port 1..sequentialStep above M1's (a heuristic:
 *                         other hosts' flows through the NAT between the two RSs widen the step)
 *   symmetric             any other M2 (random ports, or another address)
 *   unknown               the second address never answered (or none to ask)
 */
import type { TeredoConstants } from './constants.js';
import { judgeQualificationDatagram } from './qualification-filter.js';
import { buildRouterSolicitation, ROUTER_SOLICITATION_DATAGRAM_BYTES } from './router-solicitation.js';
import { nonce } from './security.js';
import type { SecurityContext } from './security.js';

export const NAT_TYPES = Object.freeze([
  'unknown',
  'no-nat',
  'cone-port-preserving',
  'cone',
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
   * From the cone RS to the RS to the second address: its answer must reach our NAT first (a
   * round trip to the server, with room to spare; nothing waits for the probe).
   */
  strangerDelayMs: 600,
} as const);

/** Whether our NAT gives every destination the same mapping, as far as the probe could tell. */
export function mapsEndpointIndependently(natType: NatType): boolean {
  return natType === 'cone' || natType === 'cone-port-preserving';
}

export interface Endpoint {
  readonly ipv4: number;
  readonly port: number;
}

/** The class of the NAT that mapped `local` to `first` (primary address) and `second` (null: silent). */
export function classifyNat(local: Endpoint, first: Endpoint, second: Endpoint | null): NatType {
  if (second === null) return 'unknown';
  if (first.ipv4 >>> 0 === second.ipv4 >>> 0 && first.port === second.port) {
    if (first.ipv4 >>> 0 === local.ipv4 >>> 0 && first.port === local.port) return 'no-nat';
    return first.port === local.port ? 'cone-port-preserving' : 'cone';
  }
  const step = (second.port - first.port) & 0xffff;
  if (first.ipv4 >>> 0 === second.ipv4 >>> 0 && step >= 1 && step <= NAT_PROBE.sequentialStep) {
    return 'symmetric-sequential';
  }
  return 'symmetric';
}

export type NatProbeAction =
  | { readonly kind: 'send'; readonly datagram: Uint8Array; readonly ipv4: number; readonly port: number }
  | {
      readonly kind: 'classified';
      readonly natType: NatType;
      readonly first: Endpoint;
      readonly second: Endpoint | null;
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
  /** The probe's answer (consumed), or null: the caller gives the datagram to qualification. */
  offer(
    datagram: Uint8Array,
    offset: number,
    length: number,
    srcPort: number,
    nowMs: number,
  ): readonly NatProbeAction[] | null;
  timer(nowMs: number): readonly NatProbeAction[];
  /** Infinity when no probe is running. */
  nextDeadlineMs(): number;
  /** The last classification ('unknown' before the first). */
  readonly natType: NatType;
}

/** Throws RangeError on addresses that are not uint32: programming errors. */
export function createNatProbe(options: NatProbeOptions): NatProbe {
  const { security, constants } = options;
  for (const value of [options.serverIPv4, options.secondaryIPv4]) {
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new RangeError(`IPv4 ${value}`);
  }
  let natType: NatType = 'unknown';
  let running = false;
  let tries = 0;
  let deadline = Number.POSITIVE_INFINITY;
  let pendingNonce: Uint8Array | null = null;
  let local: Endpoint = { ipv4: 0, port: 0 };
  let first: Endpoint = { ipv4: 0, port: 0 };
  let stamp = 0;

  /** RFC 4380's cone test, here only to have the second address send to our mapping. */
  function stranger(nowMs: number): NatProbeAction {
    deadline = nowMs + NAT_PROBE.strangerDelayMs;
    stamp = Math.max(stamp + 1, Math.floor(nowMs)) >>> 0;
    const datagram = new Uint8Array(ROUTER_SOLICITATION_DATAGRAM_BYTES);
    buildRouterSolicitation(datagram, 0, {
      nonce: nonce(security, stamp, options.serverIPv4, constants.port),
      cone: true,
    });
    return { kind: 'send', datagram, ipv4: options.serverIPv4 >>> 0, port: constants.port };
  }

  function solicit(nowMs: number): NatProbeAction {
    tries++;
    deadline = nowMs + NAT_PROBE.timeoutMs;
    stamp = Math.max(stamp + 1, Math.floor(nowMs)) >>> 0;
    pendingNonce = nonce(security, stamp, options.secondaryIPv4, constants.port);
    const datagram = new Uint8Array(ROUTER_SOLICITATION_DATAGRAM_BYTES);
    buildRouterSolicitation(datagram, 0, { nonce: pendingNonce });
    return { kind: 'send', datagram, ipv4: options.secondaryIPv4 >>> 0, port: constants.port };
  }

  function finish(second: Endpoint | null): NatProbeAction {
    running = false;
    pendingNonce = null;
    deadline = Number.POSITIVE_INFINITY;
    natType = classifyNat(local, first, second);
    return { kind: 'classified', natType, first, second };
  }

  return {
    start(localEndpoint, firstMapping, nowMs) {
      local = { ipv4: localEndpoint.ipv4 >>> 0, port: localEndpoint.port };
      first = { ipv4: firstMapping.ipv4 >>> 0, port: firstMapping.port };
      running = true;
      tries = 0;
      pendingNonce = null;
      return [stranger(nowMs)];
    },

    offer(datagram, offset, length, srcPort) {
      if (!running) return null;
      const verdict = judgeQualificationDatagram(datagram, offset, length, srcPort, {
        nonce: pendingNonce,
        serverIPv4: options.serverIPv4,
        constants,
      });
      if (verdict.kind === 'pass') return null;
      if (verdict.kind === 'ignore') {
        // Not our nonce: qualification's answer, or nobody's; qualification judges it.
        if (verdict.reason === 'wrong-nonce' || verdict.reason === 'not-soliciting') return null;
        return [];
      }
      const { originIPv4, originPort } = verdict.advertisement;
      return [finish({ ipv4: originIPv4 >>> 0, port: originPort })];
    },

    timer(nowMs) {
      if (!running || !(nowMs >= deadline)) return [];
      return [tries < NAT_PROBE.tries ? solicit(nowMs) : finish(null)];
    },

    nextDeadlineMs: () => deadline,

    get natType() {
      return natType;
    },
  };
}
