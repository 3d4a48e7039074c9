/**
 * What the client-to-client matrix (nat-matrix.test.ts) must measure today, row by row: for our
 * clients and for Debian's Miredo 1.2.6, whether a ping gets through when A speaks first and when
 * B speaks first. The one place to update when an extension makes a pair work; `why` says what
 * stops a pair today (README shows it). Measured 2026-12-07; the same-NAT row again with local
 * discovery and the hairpinning extension, the RFC 6081 symmetric NAT rows for ours since then, and
 * the port-restricted cone / port-preserving symmetric row once the NAT type probe's stranger test
 * told the two NATs apart.
 */
import type { RowOutcomes } from './nat-matrix-plan.js';

export interface RowExpectation extends RowOutcomes {
  readonly why?: string;
}

const BOTH_WAYS: RowOutcomes = { ours: ['works', 'works'], debian: ['works', 'works'] };
const NEITHER_WAY: RowOutcomes = { ours: ['fails', 'fails'], debian: ['fails', 'fails'] };

/**
 * A behind a full or address-restricted cone, B behind a NAT that maps each destination anew:
 * Miredo only when A speaks first; ours both ways (RFC 6081 symmetric NAT support,
 * src/teredo/symmetric-nat.ts: A's bubble back through B's server draws B's answer from the port
 * B's NAT uses towards A).
 */
const SYMMETRIC_B: RowOutcomes = { ours: ['works', 'works'], debian: ['works', 'fails'] };

const SYMMETRIC_B_WHY =
  "Miredo, B first: B's NAT gives each destination a new port, and A answers to the port in B's " +
  "address, which B's NAT drops; Miredo has no RFC 6081 symmetric NAT support.";

const SYMMETRIC_TO_PORT_RESTRICTED_WHY =
  "B's bubbles come from a port A never sent to, and A's go to the port B's NAT keeps for the server " +
  '(needs a predicted port: RFC 6081 sequential-port and port-preserving extensions).';

const BOTH_SYMMETRIC_WHY =
  'Each NAT opens a new port for the other, which neither side can know before it sends.';

export const MATRIX_EXPECTATIONS: Readonly<Record<string, RowExpectation>> = {
  'full-cone / full-cone': BOTH_WAYS,
  'full-cone / address-restricted': BOTH_WAYS,
  'full-cone / cone': BOTH_WAYS,
  'full-cone / port-preserving-symmetric': BOTH_WAYS,
  'full-cone / symmetric': { ...SYMMETRIC_B, why: SYMMETRIC_B_WHY },
  'full-cone / sequential-symmetric': { ...SYMMETRIC_B, why: SYMMETRIC_B_WHY },
  'address-restricted / address-restricted': BOTH_WAYS,
  'address-restricted / cone': BOTH_WAYS,
  'address-restricted / port-preserving-symmetric': BOTH_WAYS,
  'address-restricted / symmetric': { ...SYMMETRIC_B, why: SYMMETRIC_B_WHY },
  'address-restricted / sequential-symmetric': { ...SYMMETRIC_B, why: SYMMETRIC_B_WHY },
  'cone / cone': BOTH_WAYS,
  'cone / port-preserving-symmetric': {
    ours: ['works', 'works'],
    debian: ['fails', 'works'],
    why:
      "Miredo, A first: A's direct bubble reaches B's NAT first and holds B's port towards A; B answers " +
      "from another port, which A's NAT drops. Ours holds that bubble back until B has answered (RFC 6081 " +
      'port-preserving symmetric NAT, src/teredo/port-preserving-nat.ts), behind a NAT whose stranger test ' +
      'shows that no stranger can take its port.',
  },
  'cone / symmetric': { ...NEITHER_WAY, why: SYMMETRIC_TO_PORT_RESTRICTED_WHY },
  'cone / sequential-symmetric': { ...NEITHER_WAY, why: SYMMETRIC_TO_PORT_RESTRICTED_WHY },
  'port-preserving-symmetric / port-preserving-symmetric': {
    ...NEITHER_WAY,
    why:
      "Each first bubble makes the other NAT hold its client's port towards the sender; the answer " +
      'leaves from another port and is dropped.',
  },
  'port-preserving-symmetric / symmetric': { ...NEITHER_WAY, why: BOTH_SYMMETRIC_WHY },
  'port-preserving-symmetric / sequential-symmetric': { ...NEITHER_WAY, why: BOTH_SYMMETRIC_WHY },
  'symmetric / symmetric': { ...NEITHER_WAY, why: BOTH_SYMMETRIC_WHY },
  'symmetric / sequential-symmetric': { ...NEITHER_WAY, why: BOTH_SYMMETRIC_WHY },
  'sequential-symmetric / sequential-symmetric': { ...NEITHER_WAY, why: BOTH_SYMMETRIC_WHY },
  'same NAT': {
    ours: ['works', 'works'],
    debian: ['fails', 'fails'],
    why:
      'No hairpinning. Ours find each other on the LAN (local discovery, RFC 4380 §5.2.8) or through an ' +
      'RFC 6081 Alternate Address trailer relayed by the server (hairpinning extension), and talk by their ' +
      'local addresses; Miredo 1.2.6 has neither.',
  },
  'same NAT, hairpinning': BOTH_WAYS,
};
