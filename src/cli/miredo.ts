/** miredo: Teredo client or relay daemon (see src/bootstrap/bootstrap.ts). */
import { daemonMain } from '../bootstrap/main.js';
import { exitAfterStderr } from './exit.js';

exitAfterStderr(await daemonMain('miredo', process.argv.slice(2), process.argv[1] ?? ''));
