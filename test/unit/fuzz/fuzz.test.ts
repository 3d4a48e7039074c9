/**
 * The fuzzing harness (scripts/fuzz): every stored regression input replays without a finding,
 * every target survives a short campaign from its seeds, and a planted bug is found.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCampaign } from '../../../scripts/fuzz/campaign.js';
import { mutateBytes } from '../../../scripts/fuzz/mutate-bytes.js';
import { loadRegressions, REGRESSION_DIR } from '../../../scripts/fuzz/regressions.js';
import { BYTES_CODEC } from '../../../scripts/fuzz/target.js';
import type { FuzzTarget } from '../../../scripts/fuzz/target.js';
import { allTargets } from '../../../scripts/fuzz/targets/index.js';

test('every stored regression input replays without a finding', () => {
  let replayed = 0;
  for (const target of allTargets()) {
    for (const { file, bytes } of loadRegressions(REGRESSION_DIR, target.name, target.extension)) {
      assert.doesNotThrow(() => target.replay(bytes), `${target.name}/${file}`);
      replayed++;
    }
  }
  assert.ok(replayed > 0, 'the regression directory holds inputs');
});

test('every target survives 3,000 mutated inputs and reaches several outcomes', () => {
  for (const target of allTargets()) {
    const result = target.campaign({ inputs: 3000, deadline: Infinity, seed: 20261207 });
    assert.equal(result.inputs, 3000, target.name);
    assert.deepEqual(
      result.findings.map((finding) => finding.error),
      [],
      target.name,
    );
    assert.ok(result.outcomes >= 2, `${target.name} reached ${result.outcomes} outcome(s)`);
  }
});

test('a campaign finds a planted crash, once per distinct error, and keeps the input', () => {
  const planted: FuzzTarget<Uint8Array> = {
    name: 'planted',
    codec: BYTES_CODEC,
    seeds: () => [Uint8Array.from([0x10, 0x20, 0x30, 0x40])],
    mutate: (seed, random, corpus) => mutateBytes(seed, random, corpus),
    run(input): string {
      if (input.length > 2 && input[0] === 0x10 && input[input.length - 1] === 0xff)
        throw new RangeError('planted');
      return String(input.length);
    },
  };
  const result = runCampaign(planted, { inputs: 50_000, deadline: Infinity, seed: 7 });
  assert.equal(result.findings.length, 1);
  const [finding] = result.findings;
  assert.match(finding?.error ?? '', /^RangeError: planted/);
  assert.equal(finding?.input[0], 0x10);
  assert.equal(finding?.input.at(-1), 0xff);
});

test('an input that runs too long is a finding', () => {
  const slow: FuzzTarget<Uint8Array> = {
    name: 'slow',
    codec: BYTES_CODEC,
    seeds: () => [Uint8Array.of(1)],
    mutate: (seed) => seed,
    run(): string {
      const until = performance.now() + 300;
      while (performance.now() < until);
      return 'slow';
    },
  };
  const result = runCampaign(slow, { inputs: 1, deadline: Infinity, seed: 1 });
  assert.match(result.findings[0]?.error ?? '', /slow input/);
});
