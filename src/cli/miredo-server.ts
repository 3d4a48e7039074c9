/** miredo-server: Teredo server daemon (see src/daemon/bootstrap.ts). */
import { daemonMain } from '../daemon/main.js';

const status = await daemonMain('miredo-server', process.argv.slice(2), process.argv[1] ?? '');
process.exit(status);
