/** miredo-server: Teredo server daemon (see src/bootstrap/bootstrap.ts). */
import { daemonMain } from '../bootstrap/main.js';
import { exitAfterStderr } from './exit.js';

exitAfterStderr(await daemonMain('miredo-server', process.argv.slice(2), process.argv[1] ?? ''));
