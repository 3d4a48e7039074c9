/**
 * Runs os/ integration scenarios as root inside throw-away network namespaces.
 *
 * A test file lists its scenarios and calls netnsScenarios(import.meta.url, scenarios). Under
 * `node --test` that registers one test per scenario; each creates `mts-<random>`, re-runs the
 * same file under `ip netns exec` with the scenario's name in the environment, expects exit
 * code 0, and always deletes the namespace. In that child the call runs the named scenario
 * (plain node:assert; a throw fails it) and exits. Importing this module has no side effects.
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

export type Scenario = () => void | Promise<void>;

const SCENARIO_VARIABLE = 'MTS_OS_SCENARIO';
const SCENARIO_TIMEOUT_MS = 60_000;

const isRoot = process.getuid?.() === 0;
export const NOT_ROOT_SKIP: string | false = isRoot ? false : 'needs root (network namespaces, TUN devices)';

interface ChildResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(file: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<ChildResult> {
  return new Promise((resolve) => {
    execFile(file, args, { env, timeout: SCENARIO_TIMEOUT_MS, encoding: 'utf8' }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
      resolve({ code, stdout, stderr: `${stderr}${error?.killed === true ? '\n(killed: timeout)' : ''}` });
    });
  });
}

async function inFreshNetns<T>(body: (netns: string) => Promise<T>): Promise<T> {
  const netns = `mts-${randomBytes(4).toString('hex')}`;
  execFileSync('ip', ['netns', 'add', netns]);
  try {
    execFileSync('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
    return await body(netns);
  } finally {
    execFileSync('ip', ['netns', 'delete', netns]);
  }
}

async function runScenarioInNetns(moduleUrl: string, name: string): Promise<ChildResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, [SCENARIO_VARIABLE]: name };
  delete env['NODE_TEST_CONTEXT'];
  return inFreshNetns((netns) =>
    run(
      'ip',
      ['netns', 'exec', netns, process.execPath, '--enable-source-maps', fileURLToPath(moduleUrl)],
      env,
    ),
  );
}

async function runScenarioHere(scenarios: Readonly<Record<string, Scenario>>, name: string): Promise<void> {
  const scenario = scenarios[name];
  try {
    if (scenario === undefined) throw new Error(`no scenario named ${name}`);
    await scenario();
    process.exit(0);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  }
}

/** Registers (parent) or runs (child in a namespace) the scenarios of the calling test file. */
export function netnsScenarios(moduleUrl: string, scenarios: Readonly<Record<string, Scenario>>): void {
  const chosen = process.env[SCENARIO_VARIABLE];
  if (chosen !== undefined) {
    void runScenarioHere(scenarios, chosen);
    return;
  }
  for (const name of Object.keys(scenarios)) {
    test(name, { skip: NOT_ROOT_SKIP, timeout: SCENARIO_TIMEOUT_MS + 10_000 }, async () => {
      const result = await runScenarioInNetns(moduleUrl, name);
      if (result.code !== 0) {
        throw new Error(`scenario "${name}" exited with ${result.code}:\n${result.stderr}${result.stdout}`);
      }
    });
  }
}
