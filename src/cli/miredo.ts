/** miredo: Teredo client or relay daemon (see src/daemon/bootstrap.ts). */
import { daemonMain } from '../daemon/main.js';

const status = await daemonMain('miredo', process.argv.slice(2), process.argv[1] ?? '');
process.exit(status);
