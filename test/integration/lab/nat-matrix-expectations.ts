/**
 * What the client-to-client matrix (nat-matrix.test.ts) must measure today, row by row: for our
 * clients and for Debian's Miredo 1.2.6, whether a ping gets through when A speaks first and when
 * B speaks first. The one place to update when an extension makes a pair work; `why` says what
 * stops a pair today (README shows it). Measured 2026-12-07, identical in every run.
 */
import type { RowOutcomes } from './nat-matrix-plan.js';

export interface RowExpectation extends RowOutcomes {
  readonly why?: string;
}

const BOTH_WAYS: RowOutcomes = { ours: ['works', 'works'], debian: ['works', 'works'] };
const NEITHER_WAY: RowOutcomes = { ours: ['fails', 'fails'], debian: ['fails', 'fails'] };

/** A behind a full or address-restricted cone, B behind a NAT that maps each destination anew. */
const CONE_FIRST_ONLY: RowOutcomes = { ours: ['works', 'fails'], debian: ['works', 'fails'] };

const SYMMETRIC_B_WHY =
  "B's NAT gives B a new port for A. A first: B answers A's indirect bubble from that port, A's NAT " +
  'lets it in and A takes it as the answer to its own bubble. B first: A answers to the port in ' +
  "B's address, which B's NAT drops; A would have to use the port B's bubble came from " +
  '(RFC 6081 symmetric NAT support).';

const SYMMETRIC_TO_PORT_RESTRICTED_WHY =
  "B's bubbles leave from a new port, to which A (port-restricted) never sent, and A's bubbles go " +
  "to the port in B's address, which B's NAT keeps for the server: each NAT drops the other's " +
  'bubbles. Needs a predicted port (RFC 6081 sequential-port and port-preserving extensions) or a relay.';

const BOTH_SYMMETRIC_WHY =
  'Both NATs map each destination anew and filter by address and port: neither side can send ' +
  "to the port the other's NAT opened for it.";

export const MATRIX_EXPECTATIONS: Readonly<Record<string, RowExpectation>> = {
  'full-cone / full-cone': BOTH_WAYS,
  'full-cone / address-restricted': BOTH_WAYS,
  'full-cone / cone': BOTH_WAYS,
  'full-cone / port-preserving-symmetric': BOTH_WAYS,
  'full-cone / symmetric': { ...CONE_FIRST_ONLY, why: SYMMETRIC_B_WHY },
  'full-cone / sequential-symmetric': { ...CONE_FIRST_ONLY, why: SYMMETRIC_B_WHY },
  'address-restricted / address-restricted': BOTH_WAYS,
  'address-restricted / cone': BOTH_WAYS,
  'address-restricted / port-preserving-symmetric': BOTH_WAYS,
  'address-restricted / symmetric': { ...CONE_FIRST_ONLY, why: SYMMETRIC_B_WHY },
  'address-restricted / sequential-symmetric': { ...CONE_FIRST_ONLY, why: SYMMETRIC_B_WHY },
  'cone / cone': BOTH_WAYS,
  'cone / port-preserving-symmetric': {
    ours: ['fails', 'works'],
    debian: ['fails', 'works'],
    why:
      "A first: A's direct bubble reaches B's NAT before B has sent to A, and the NAT keeps B's " +
      'port towards A for it; B answers from another port, which A (port-restricted) drops. B ' +
      'first: the port is still free, B keeps it, and A answers to it.',
  },
  'cone / symmetric': { ...NEITHER_WAY, why: SYMMETRIC_TO_PORT_RESTRICTED_WHY },
  'cone / sequential-symmetric': { ...NEITHER_WAY, why: SYMMETRIC_TO_PORT_RESTRICTED_WHY },
  'port-preserving-symmetric / port-preserving-symmetric': {
    ...NEITHER_WAY,
    why:
      "The first direct bubble makes the other NAT keep the other client's port towards its " +
      'sender, so the answer leaves from another port, which the first NAT drops.',
  },
  'port-preserving-symmetric / symmetric': { ...NEITHER_WAY, why: BOTH_SYMMETRIC_WHY },
  'port-preserving-symmetric / sequential-symmetric': { ...NEITHER_WAY, why: BOTH_SYMMETRIC_WHY },
  'symmetric / symmetric': { ...NEITHER_WAY, why: BOTH_SYMMETRIC_WHY },
  'symmetric / sequential-symmetric': { ...NEITHER_WAY, why: BOTH_SYMMETRIC_WHY },
  'sequential-symmetric / sequential-symmetric': { ...NEITHER_WAY, why: BOTH_SYMMETRIC_WHY },
  'same NAT': {
    ...NEITHER_WAY,
    why:
      "Bubbles to the neighbour's public mapping end at the NAT (no hairpinning), and neither " +
      'client looks for the other on the local link (RFC 4380 local discovery).',
  },
  'same NAT, hairpinning': BOTH_WAYS,
};
