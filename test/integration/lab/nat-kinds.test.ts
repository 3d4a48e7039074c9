/**
 * The lab's NAT kinds are what they claim to be, observed with plain UDP (no Teredo): for each
 * kind a probe in the client's namespace learns its mappings from responders on the server's two
 * addresses and the relay, and strangers send to its mapping unasked; the observation must
 * classify as the kind's RFC 4787 mapping and filtering behaviour (nat-kinds.ts). Two clients
 * behind one NAT reach each other's public mapping only where the NAT hairpins.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { netnsSkip } from '../../support/netns.js';
import {
  classifyNat,
  createLab,
  formatNatObservation,
  NAT_KIND_INFO,
  NAT_KINDS,
  NatResponders,
  observeHairpinning,
  observeNat,
} from '../../../scripts/lab/index.js';
import type { Lab, NatKind, NatSpec } from '../../../scripts/lab/index.js';
import { LabStory } from './lab-test-tools.js';

const clientOf = (kind: NatKind): string => `c-${kind}`.slice(0, 20);

const NATS: readonly NatSpec[] = [
  ...NAT_KINDS.map((kind) => ({ name: `n-${kind}`.slice(0, 20), kind, clients: [clientOf(kind)] })),
  { name: 'hairpin', kind: 'cone', hairpin: true, clients: ['hair-a', 'hair-b'] },
  { name: 'no-hairpin', kind: 'cone', clients: ['plain-a', 'plain-b'] },
];

describe('NAT kinds, observed with plain UDP', { skip: netnsSkip() }, () => {
  const story = new LabStory();
  let lab: Lab | undefined;
  let responders: NatResponders | undefined;

  before(async () => {
    lab = await createLab({ nats: NATS, onProgress: story.listener });
    const built = lab;
    responders = await story.explain(built, () => NatResponders.start(built));
  });
  after(async () => {
    await lab?.destroy();
  });

  for (const kind of NAT_KINDS) {
    const { label, mapping, filtering } = NAT_KIND_INFO[kind];
    it(`${label}: ${mapping} mapping, ${filtering} filtering`, async (t) => {
      assert.ok(lab && responders);
      const [active, probes] = [lab, responders];
      const observation = await story.explain(active, () => observeNat(active, probes, clientOf(kind)));
      t.diagnostic(formatNatObservation(observation));
      const nat = active.node(`n-${kind}`.slice(0, 20));
      assert.ok(nat.role === 'nat');
      assert.ok(observation.mappings.every((seen) => seen.address === nat.wanIPv4));
      assert.deepEqual(classifyNat(observation), { mapping, filtering }, formatNatObservation(observation));
    });
  }

  it("hairpinning: a client reaches its neighbour's public mapping, seen from its own", async (t) => {
    assert.ok(lab && responders);
    const [active, probes] = [lab, responders];
    const seen = await story.explain(active, () =>
      observeHairpinning(active, probes, 'hairpin', 'hair-a', 'hair-b'),
    );
    t.diagnostic(JSON.stringify(seen));
    assert.equal(seen.delivered, true);
    assert.deepEqual(seen.seenSource, seen.aMapping);
    assert.equal(seen.answered, true, "the answer comes back from the neighbour's public mapping");
  });

  it("without hairpinning the NAT takes a datagram to a neighbour's public mapping itself", async (t) => {
    assert.ok(lab && responders);
    const [active, probes] = [lab, responders];
    const seen = await story.explain(active, () =>
      observeHairpinning(active, probes, 'no-hairpin', 'plain-a', 'plain-b'),
    );
    t.diagnostic(JSON.stringify(seen));
    assert.equal(seen.delivered, false);
  });
});
