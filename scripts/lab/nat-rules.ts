/**
 * Netfilter rules that make a namespace behave as a NAT of a given kind (see lab-notes):
 * - cone: MASQUERADE keeps one mapping per source (endpoint-independent), and dropping NEW
 *   inbound UDP on the WAN side gives address-and-port-dependent filtering. Without that drop a
 *   peer's packet arriving first would own the conntrack tuple and the client's own packet to
 *   that peer would get another port: the "cone" NAT would act symmetric for that peer.
 * - symmetric: MASQUERADE --random-fully, a fresh random port for every destination.
 * MASQUERADE does no hairpinning in either kind.
 */
import type { NatKind } from './plan.js';

/** `iptables` argument lists, applied in order. */
export function natRules(kind: NatKind, wanInterface: string): readonly (readonly string[])[] {
  const masquerade = ['-t', 'nat', '-A', 'POSTROUTING', '-o', wanInterface, '-j', 'MASQUERADE'];
  if (kind === 'symmetric') return [[...masquerade, '--random-fully']];
  return [
    masquerade,
    ['-A', 'INPUT', '-i', wanInterface, '-p', 'udp', '-m', 'conntrack', '--ctstate', 'NEW', '-j', 'DROP'],
  ];
}

export function describeNat(kind: NatKind): string {
  return kind === 'cone'
    ? 'port-restricted cone (one mapping per source, inbound only from contacted endpoints)'
    : 'symmetric (a new random port for every destination)';
}
