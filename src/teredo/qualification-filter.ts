/**
 * Which received datagrams belong to client qualification, and whether one is the Router
 * Advertisement answering our pending Router Solicitation (reference section 4.6 step 3).
 *
 * A datagram is qualification's ("consumed") when it parses as a Teredo payload, comes from UDP
 * port 3544 (any IPv4: Miredo does not check it, the nonce does the work), carries an
 * authentication header and is addressed to our link-local fe80::ffff:ffff:ffff. Consumed
 * datagrams never reach the relay core, even when they are then ignored; any other datagram is
 * passed on. Each outcome names its reason so the caller can count it.
 */
import { isClientLinkLocalAt } from './address.js';
import { bytesEqual } from './bytes.js';
import { WIRE_SIZE } from './constants.js';
import type { TeredoConstants } from './constants.js';
import {
  createRouterAdvertisement,
  parseRouterAdvertisement,
  ROUTER_ADVERTISEMENT_DROP_REASONS,
} from './router-advertisement.js';
import type { RouterAdvertisement, RouterAdvertisementDropReason } from './router-advertisement.js';
import { createTeredoPayload, IPV6_DESTINATION_OFFSET, parseTeredoPayload } from './wire.js';

/** Why a datagram is not qualification's: the caller goes on with it. */
export type QualificationPassReason =
  'invalid-payload' | 'not-from-server-port' | 'no-auth' | 'not-to-client-link-local';
export const QUALIFICATION_PASS_REASONS: readonly QualificationPassReason[] = Object.freeze([
  'invalid-payload',
  'not-from-server-port',
  'no-auth',
  'not-to-client-link-local',
]);

/**
 * Why a consumed datagram was ignored: the RA checks of Miredo's maintenance, in its order, then
 * ours: the prefix must be the standard one (constants.prefix, the obsolete 3ffe:831f already
 * mapped to it), because the bootstrap's policy lets a client set addresses under no other.
 */
export type QualificationIgnoreReason =
  | 'not-soliciting'
  | 'wrong-nonce'
  | 'auth-failed'
  | RouterAdvertisementDropReason
  | 'wrong-server'
  | 'wrong-prefix';
export const QUALIFICATION_IGNORE_REASONS: readonly QualificationIgnoreReason[] = Object.freeze([
  'not-soliciting',
  'wrong-nonce',
  'auth-failed',
  ...ROUTER_ADVERTISEMENT_DROP_REASONS,
  'wrong-server',
  'wrong-prefix',
]);

export type QualificationVerdict =
  | { readonly kind: 'pass'; readonly reason: QualificationPassReason }
  | { readonly kind: 'ignore'; readonly reason: QualificationIgnoreReason }
  | { readonly kind: 'accept'; readonly advertisement: Readonly<RouterAdvertisement> };

export interface QualificationExpectation {
  /** The nonce of the solicitation awaiting an answer; null when none is. */
  readonly nonce: Uint8Array | null;
  /** The server we asked: the RA's prefix must embed it. */
  readonly serverIPv4: number;
  readonly constants: TeredoConstants;
}

/** Judges the datagram in bytes[offset, offset + length) received from UDP port `sourcePort`. Never throws. */
export function judgeQualificationDatagram(
  bytes: Uint8Array,
  offset: number,
  length: number,
  sourcePort: number,
  expectation: QualificationExpectation,
): QualificationVerdict {
  const payload = createTeredoPayload();
  if (parseTeredoPayload(bytes, length, payload, offset) !== 'ok') return pass('invalid-payload');
  if (sourcePort !== expectation.constants.port) return pass('not-from-server-port');
  if (!payload.hasAuth) return pass('no-auth');
  if (!isClientLinkLocalAt(bytes, payload.ipv6Offset + IPV6_DESTINATION_OFFSET, false)) {
    return pass('not-to-client-link-local');
  }

  const nonce = expectation.nonce;
  if (nonce === null) return ignore('not-soliciting');
  if (!bytesEqual(bytes, payload.nonceOffset, nonce, 0, WIRE_SIZE.nonce)) return ignore('wrong-nonce');
  if (payload.confirmation !== 0) return ignore('auth-failed');
  const advertisement = createRouterAdvertisement();
  const verdict = parseRouterAdvertisement(bytes, payload, advertisement, {
    constants: expectation.constants,
  });
  if (verdict !== 'ok') return ignore(verdict);
  if (advertisement.serverIPv4 !== expectation.serverIPv4 >>> 0) return ignore('wrong-server');
  if (advertisement.prefix !== expectation.constants.prefix >>> 0) return ignore('wrong-prefix');
  return { kind: 'accept', advertisement: Object.freeze(advertisement) };
}

function pass(reason: QualificationPassReason): QualificationVerdict {
  return { kind: 'pass', reason };
}

function ignore(reason: QualificationIgnoreReason): QualificationVerdict {
  return { kind: 'ignore', reason };
}
