/**
 * `npm run demo` (as root): this project's Teredo server, relay and clients at work in a
 * network-namespace lab (scripts/lab), told step by step for a system administrator, with a
 * summary table at the end. The lab is always removed: at the end, on errors, on Ctrl-C or
 * SIGTERM (a second one forces the exit after a quick synchronous removal).
 *
 *   sudo node dist/scripts/demo.js
 *
 * Exit status: 0 when every step worked, 1 otherwise (or when a precondition is not met),
 * 128 + the signal number when interrupted.
 */
import { existsSync } from 'node:fs';
import { REPO_ROOT } from './lab/index.js';
import { forceRemoveOwnLabs } from './demo-force-cleanup.js';
import { exitCodeFor, InterruptedError, Interruption } from './demo-interrupt.js';
import { DemoOutput, wantsColour } from './demo-output.js';
import {
  describeMissing,
  installPackages,
  missingRequirements,
  removeTemporaryPolicy,
} from './demo-packages.js';
import { checkPreconditions } from './demo-preconditions.js';
import { runScenario } from './demo-scenario.js';
import { DemoSession } from './demo-session.js';
import { errorText, firstLine, StepRunner } from './demo-steps.js';

/** Failure details go to stderr, this many lines at most each. */
const MAX_DETAIL_LINES = 60;
const MAX_TRANSCRIPT_LINES = 400;
/**
 * Our client runs Miredo's client hook (/etc/miredo/client-hook) unless this variable names
 * another path (src/bootstrap/client-hook.ts). The demo runs none of this machine's hooks: they are
 * the administrator's, and Debian's flushes and re-adds the tunnel's addresses and routes just as
 * the demo starts pinging. The daemons inherit the demo's environment.
 */
const CLIENT_HOOK_VARIABLE = 'MIREDO_TS_CLIENT_HOOK';
const NO_CLIENT_HOOK = '/nonexistent/miredo-ts-demo-runs-no-client-hook';

function printToStderr(text: string): void {
  process.stderr.write(`${text}\n`);
}

function capLines(text: string, max: number): string {
  const lines = text.split('\n');
  return lines.length <= max
    ? text
    : [...lines.slice(0, max), `... (${lines.length - max} more lines)`].join('\n');
}

async function ensurePackages(output: DemoOutput): Promise<boolean> {
  const missing = await missingRequirements();
  if (missing.length === 0) return true;
  output.info(`installing missing Debian packages with apt-get: ${describeMissing(missing)}`);
  const installed = await installPackages(missing.map((requirement) => requirement.packageName));
  if (!installed.ok) {
    printToStderr(`demo: ${installed.message}`);
    return false;
  }
  output.info(`installed ${missing.map((requirement) => requirement.packageName).join(', ')}`);
  return true;
}

async function main(): Promise<number> {
  const output = new DemoOutput(
    (line) => process.stdout.write(`${line}\n`),
    wantsColour(process.stdout, process.env),
  );
  const preconditions = checkPreconditions(
    { isRoot: () => process.getuid?.() === 0, exists: existsSync },
    REPO_ROOT,
  );
  if (!preconditions.ok) {
    printToStderr(`demo: ${preconditions.message}`);
    return 1;
  }
  output.say(
    "miredo-ts demo: Teredo (RFC 4380) with this project's server, relay and clients, in network namespaces.",
  );
  output.say('Press Ctrl-C to stop at any time: the lab is removed either way.');

  process.env[CLIENT_HOOK_VARIABLE] = NO_CLIENT_HOOK;
  const interruption = new Interruption();
  const session = new DemoSession(output);
  const steps = new StepRunner(output, interruption);
  interruption.install({
    onFirst: (signal) =>
      output.info(`${signal} received: stopping and removing the lab (send it again to force the exit)`),
    onAgain: (signal) => {
      removeTemporaryPolicy();
      const removed = forceRemoveOwnLabs();
      output.info(
        `${signal} again: forced exit${removed.length === 0 ? '' : `, removed lab ${removed.join(', ')}`}`,
      );
      process.exit(exitCodeFor(interruption.signal ?? signal));
    },
  });

  let unexpected: string | null = null;
  try {
    // Not raced against signals: interrupting dpkg half-way would do more harm than waiting.
    if (!(await ensurePackages(output))) return 1;
    interruption.check();
    await runScenario({ output, steps, session, interruption });
  } catch (error) {
    if (!(error instanceof InterruptedError)) {
      unexpected = errorText(error);
      output.info(`the demo stopped on an unexpected error: ${firstLine(unexpected)}`);
    }
  } finally {
    output.heading('Teardown');
    try {
      await session.teardown();
    } catch (error) {
      unexpected ??= `teardown: ${errorText(error)}`;
      output.info(`teardown failed: ${firstLine(errorText(error))}`);
    }
  }

  const signal = interruption.signal;
  output.summary(steps.results, signal);
  if (signal !== null) return exitCodeFor(signal);
  for (const failure of steps.failures)
    printToStderr(`--- ${failure.title}\n${capLines(failure.text, MAX_DETAIL_LINES)}`);
  if (unexpected !== null) printToStderr(`--- unexpected error\n${capLines(unexpected, MAX_DETAIL_LINES)}`);
  if (!steps.allOk)
    printToStderr(`--- daemon output\n${capLines(session.transcripts(), MAX_TRANSCRIPT_LINES)}`);
  return unexpected === null && steps.allOk ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    printToStderr(`demo: ${errorText(error)}`);
    process.exit(1);
  },
);
