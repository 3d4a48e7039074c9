/**
 * npm run fuzz [-- --inputs N] [--seconds S] [--target NAME ...] [--seed N] [--out DIR] [--live-frames N]
 *
 * Feeds every parser and state machine at least N mutated inputs (default 1,000,000 each), or as
 * many as fit in S seconds shared evenly among the targets (CI runs a short budget). Inputs that
 * throw or run too long are written to test/fuzz-regressions/<target>/ (replayed by the unit
 * tests from then on) and make the run fail. The seed is printed, so a run can be repeated.
 *
 * Then, as root, the real bootstrap gets --live-frames fuzzed helper requests from an engine
 * double through its channel (test/integration/daemon/bootstrap-fuzz.test.ts; default 200,000,
 * none with --seconds: `npm test` runs that file with 20,000).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { REGRESSION_DIR, saveRegression } from './regressions.js';
import { allTargets } from './targets/index.js';

const optionsSchema = z
  .object({
    inputs: z.coerce.number().int().min(1).default(1_000_000),
    seconds: z.coerce.number().positive().optional(),
    target: z.array(z.string()).default([]),
    seed: z.coerce.number().int().min(0).max(0xffff_ffff).optional(),
    out: z.string().min(1).default(REGRESSION_DIR),
    'live-frames': z.coerce.number().int().min(0).optional(),
  })
  .strict();

const { values } = parseArgs({
  options: {
    inputs: { type: 'string' },
    seconds: { type: 'string' },
    target: { type: 'string', multiple: true },
    seed: { type: 'string' },
    out: { type: 'string' },
    'live-frames': { type: 'string' },
  },
  strict: true,
});
const parsed = optionsSchema.safeParse(values);
if (!parsed.success) {
  console.error(
    `fuzz: ${parsed.error.issues.map((issue) => `--${issue.path.join('.')}: ${issue.message}`).join('; ')}`,
  );
  process.exit(2);
}
const options = parsed.data;
const targets = allTargets().filter(
  (target) => options.target.length === 0 || options.target.includes(target.name),
);
const unknown = options.target.filter((name) => !allTargets().some((target) => target.name === name));
if (unknown.length > 0 || targets.length === 0) {
  console.error(
    `fuzz: unknown target ${unknown.join(', ')}; targets: ${allTargets()
      .map((t) => t.name)
      .join(', ')}`,
  );
  process.exit(2);
}

const seed = options.seed ?? Math.floor(Math.random() * 0xffff_ffff);
console.log(
  `fuzz: seed ${seed}, ${targets.length} targets, ${options.inputs} inputs each${options.seconds === undefined ? '' : `, at most ${options.seconds} s in all`}`,
);
const started = performance.now();
const slice = options.seconds === undefined ? Infinity : (options.seconds * 1000) / targets.length;
let findings = 0;
let total = 0;
for (const [index, target] of targets.entries()) {
  const result = target.campaign({
    inputs: options.inputs,
    deadline: started + slice * (index + 1),
    seed: (seed + index) >>> 0,
  });
  total += result.inputs;
  const rate = Math.round(result.inputs / (result.milliseconds / 1000));
  console.log(
    `${target.name.padEnd(22)} ${String(result.inputs).padStart(9)} inputs  ${(result.milliseconds / 1000).toFixed(1).padStart(6)} s  ${String(rate).padStart(8)}/s  corpus ${result.corpus}  outcomes ${result.outcomes}  findings ${result.findings.length}`,
  );
  for (const finding of result.findings) {
    findings++;
    console.log(
      `  FINDING ${saveRegression(options.out, target.name, target.extension, finding.input)}: ${finding.error}`,
    );
  }
}
console.log(
  `fuzz: ${total} inputs in ${((performance.now() - started) / 1000).toFixed(1)} s, ${findings} finding(s)`,
);

const liveFrames = options['live-frames'] ?? (options.seconds === undefined ? 200_000 : 0);
let liveFailed = false;
if (liveFrames > 0 && process.getuid?.() !== 0)
  console.log('fuzz: the live bootstrap campaign needs root; skipped');
else if (liveFrames > 0) {
  const file = fileURLToPath(
    new URL('../../test/integration/daemon/bootstrap-fuzz.test.js', import.meta.url),
  );
  console.log(`fuzz: ${liveFrames} fuzzed requests to the real bootstrap (${file})`);
  const run = spawnSync(process.execPath, ['--test', file], {
    stdio: 'inherit',
    env: { ...process.env, MTS_FUZZ_FRAMES: String(liveFrames), MTS_FUZZ_SEED: String(seed) },
  });
  liveFailed = run.status !== 0;
}
process.exit(findings === 0 && !liveFailed ? 0 : 1);
