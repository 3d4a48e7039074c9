/**
 * What `miredo` and `miredo-server` do with their command line: print help, version or a usage
 * error, start detached (unless -f), or run the bootstrap. The bootstrap and the native addon
 * are loaded only when the daemon really starts, so that -h and -V work anywhere.
 */
import { parseCommandLine } from './command-line.js';
import type { Program } from './command-line.js';
import { DAEMON_STATUS_ENV, daemonStatusReporter, runDetached, STDERR_REPORTER } from './daemonize.js';
import { closeInheritedDescriptors } from '../os/inherited-fds.js';

/** Returns the exit status; `script` is the file to re-run for a detached start. */
export async function daemonMain(program: Program, argv: readonly string[], script: string): Promise<number> {
  // Node opens its inspector on SIGUSR1 when no listener exists: in a root process that would
  // hand a debugger to any local user. Listen from the very first moment (bootstrap.ts adds the
  // real handlers later).
  for (const signal of ['SIGUSR1', 'SIGUSR2'] as const) process.on(signal, () => undefined);
  const parsed = parseCommandLine(program, argv);
  switch (parsed.kind) {
    case 'help':
    case 'version':
      process.stdout.write(parsed.stdout);
      return parsed.exitCode;
    case 'usage-error':
      process.stderr.write(parsed.stderr);
      return parsed.exitCode;
    case 'run':
      break;
  }
  // Like Miredo's closefrom(3), keeping only a detached daemon's status pipe.
  const statusFd = Number(process.env[DAEMON_STATUS_ENV]);
  closeInheritedDescriptors(new Set(Number.isInteger(statusFd) ? [statusFd] : []));
  const detachedReporter = daemonStatusReporter();
  if (!parsed.options.foreground && detachedReporter === null) return runDetached(script, argv);
  const reporter = detachedReporter ?? STDERR_REPORTER;
  try {
    const [{ runBootstrap, systemDependencies }, { SYSTEM_OS }] = await Promise.all([
      import('./bootstrap.js'),
      import('./os-system.js'),
    ]);
    return await runBootstrap(parsed.options, reporter, systemDependencies(SYSTEM_OS));
  } catch (error) {
    reporter.error(`${program}: ${error instanceof Error ? error.message : String(error)}`);
    reporter.done(1);
    return 1;
  }
}
