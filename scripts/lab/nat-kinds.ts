/**
 * The NAT kinds the lab emulates, in the terms of RFC 4787 (mapping and filtering behaviour),
 * and what a probe must observe behind each (nat-probe.ts): the lab's labels are proven, not
 * assumed. How each kind is built with netfilter is in nat-rules.ts.
 */

export const NAT_KINDS = [
  'full-cone',
  'address-restricted',
  'cone',
  'port-preserving-symmetric',
  'symmetric',
  'sequential-symmetric',
] as const;

/** `cone` is the port-restricted cone NAT (its name predates the other kinds). */
export type NatKind = (typeof NAT_KINDS)[number];

/**
 * How the NAT picks the public port of a new flow:
 * - endpoint-independent: one mapping per internal endpoint, for every destination, and its port
 *   is the internal one;
 * - port-preserving: one mapping per destination, on the internal port whenever that port is free
 *   towards that destination (a destination that sent to it first holds it: it gets another port);
 * - random: one mapping per destination, on a random port;
 * - sequential: one mapping per destination, on the port after the NAT's previous mapping.
 */
export type MappingBehaviour = 'endpoint-independent' | 'port-preserving' | 'random' | 'sequential';

/**
 * Which unsolicited datagrams reach the client through a mapping: from anyone, from the
 * addresses it has sent to (any port), or only from the exact address and port it sent to.
 */
export type FilteringBehaviour = 'endpoint-independent' | 'address-dependent' | 'address-and-port-dependent';

export interface NatKindInfo {
  /** A short name for tables: "full cone", "symmetric (random ports)". */
  readonly label: string;
  readonly mapping: MappingBehaviour;
  readonly filtering: FilteringBehaviour;
}

export const NAT_KIND_INFO: Readonly<Record<NatKind, NatKindInfo>> = {
  'full-cone': { label: 'full cone', mapping: 'endpoint-independent', filtering: 'endpoint-independent' },
  'address-restricted': {
    label: 'address-restricted cone',
    mapping: 'endpoint-independent',
    filtering: 'address-dependent',
  },
  cone: {
    label: 'port-restricted cone',
    mapping: 'endpoint-independent',
    filtering: 'address-and-port-dependent',
  },
  'port-preserving-symmetric': {
    label: 'port-preserving symmetric',
    mapping: 'port-preserving',
    filtering: 'address-and-port-dependent',
  },
  symmetric: {
    label: 'symmetric (random ports)',
    mapping: 'random',
    filtering: 'address-and-port-dependent',
  },
  'sequential-symmetric': {
    label: 'sequential-port symmetric',
    mapping: 'sequential',
    filtering: 'address-and-port-dependent',
  },
};

/**
 * Hairpinning (a client reaching another client's public mapping through their common NAT) is
 * built by forwarding a mapped port to the client that owns it, which needs mapped ports equal to
 * the clients' own ports.
 */
export function supportsHairpinning(kind: NatKind): boolean {
  const { mapping } = NAT_KIND_INFO[kind];
  return mapping === 'endpoint-independent' || mapping === 'port-preserving';
}

export function describeNat(kind: NatKind, hairpin = false): string {
  const { label, mapping, filtering } = NAT_KIND_INFO[kind];
  return `${label} (${mapping} mapping, ${filtering} filtering${hairpin ? ', hairpinning' : ''})`;
}
