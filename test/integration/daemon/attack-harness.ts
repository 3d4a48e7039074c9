/**
 * The real root bootstrap (runBootstrap with the system's kernel calls, the real supervisor,
 * channel and helper), whose engine is attack-engine.ts. Run inside a namespace with
 * MTS_ATTACK_STATE set to a state directory holding `plan.json`; the arguments are the daemon's
 * command line. Does nothing without the variable.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const ATTACK_STATE_ENV = 'MTS_ATTACK_STATE';

async function main(stateDir: string): Promise<number> {
  const [{ parseCommandLine }, { runBootstrap, systemDependencies }, { STDERR_REPORTER }, { SYSTEM_OS }] =
    await Promise.all([
      import('../../../src/bootstrap/command-line.js'),
      import('../../../src/bootstrap/bootstrap.js'),
      import('../../../src/bootstrap/daemonize.js'),
      import('../../../src/bootstrap/os-system.js'),
    ]);
  // The engine's entry point: spawnEngine gives it no environment, so the state directory is
  // written into it.
  const enginePath = join(stateDir, 'engine.mjs');
  const engineModule = new URL('./attack-engine.js', import.meta.url).href;
  writeFileSync(
    enginePath,
    `import { runAttackEngine } from ${JSON.stringify(engineModule)};\n` +
      `await runAttackEngine(${JSON.stringify(stateDir)});\n`,
  );
  const parsed = parseCommandLine('miredo', process.argv.slice(2));
  if (parsed.kind !== 'run') throw new Error(`bad command line: ${parsed.kind}`);
  return runBootstrap(parsed.options, STDERR_REPORTER, {
    ...systemDependencies(SYSTEM_OS),
    enginePath,
    logLevel: 'debug',
  });
}

const stateDir = process.env[ATTACK_STATE_ENV];
if (stateDir !== undefined) {
  // Signal listeners as bin/miredo has them from the start (daemonMain).
  for (const signal of ['SIGUSR1', 'SIGUSR2'] as const) process.on(signal, () => undefined);
  main(stateDir).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(
        `harness failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exit(1);
    },
  );
}
