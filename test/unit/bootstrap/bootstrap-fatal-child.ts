/**
 * The real bootstrap (runBootstrap) with a fake kernel and the fake engine, in its own process,
 * for bootstrap-fatal.test.ts: once the engine's address request has been applied, a bug in the
 * bootstrap throws (MTS_BOOTSTRAP_FATAL=uncaught) or rejects (=rejection); with =stuck the normal
 * cleanup then never finishes. At exit it writes the fake kernel's calls as a JSON line on
 * stderr. Arguments: the daemon's command line. Does nothing without the variable.
 */
import { fileURLToPath } from 'node:url';
import { parseCommandLine } from '../../../src/bootstrap/command-line.js';
import { runBootstrap } from '../../../src/bootstrap/bootstrap.js';
import { STDERR_REPORTER } from '../../../src/bootstrap/daemonize.js';
import { SYSTEM_SOURCES } from '../../../src/bootstrap/settings.js';
import { FakeOs } from '../../support/fakes.js';

export const FATAL_ENV = 'MTS_BOOTSTRAP_FATAL';
const FAKE_ENGINE = fileURLToPath(new URL('../../support/fake-engine.js', import.meta.url));

class InjectingOs extends FakeOs {
  constructor(private readonly mode: string) {
    super();
  }

  override addAddress6(ifindex: number, address: Uint8Array, prefixLen: number): void {
    super.addAddress6(ifindex, address, prefixLen);
    setImmediate(() => {
      if (this.mode === 'rejection') void Promise.reject(new Error('injected rejection'));
      else throw new Error('injected exception');
    });
  }

  override delAddress6(ifindex: number, address: Uint8Array, prefixLen: number): void | Promise<void> {
    super.delAddress6(ifindex, address, prefixLen);
    if (this.mode === 'stuck') return new Promise<void>(() => undefined);
  }
}

const mode = process.env[FATAL_ENV];
if (mode !== undefined) {
  const os = new InjectingOs(mode);
  process.on('exit', () =>
    process.stderr.write(`${JSON.stringify({ msg: 'harness: os calls', calls: os.calls })}\n`),
  );
  const parsed = parseCommandLine('miredo', process.argv.slice(2));
  if (parsed.kind !== 'run') throw new Error(parsed.kind);
  const code = await runBootstrap(parsed.options, STDERR_REPORTER, {
    os,
    sources: SYSTEM_SOURCES,
    lookupUser: (name) => ({ name, uid: 65534, gid: 65534 }),
    getuid: () => 0,
    enginePath: FAKE_ENGINE,
    poolSize: 1,
    logLevel: 'debug',
    fatalCleanupMs: 1000,
  });
  process.exit(code);
}
