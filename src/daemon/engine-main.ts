/**
 * Entry point of the engine process.
 * Privileges: started as root by the bootstrap, holding only the descriptors it was given
 * (TUN queues, UDP sockets, raw socket at 4..) and the IPC channel at 3. It loads everything it
 * needs here, then chroots and drops to an unprivileged user before it handles any traffic.
 *
 * Order matters for start-up time: no_new_privs first (every thread created afterwards inherits
 * it), then the data-plane threads (early-pool.ts), and only then the engine's own modules, so
 * that the threads boot while this thread loads.
 */
import { fileURLToPath } from 'node:url';
import { setNoNewPrivs } from '../os/privileges.js';
import { startEarlyPool } from './early-pool.js';

const dataplanePath = fileURLToPath(new URL('./dataplane.js', import.meta.url));
setNoNewPrivs();
const early = startEarlyPool(dataplanePath, process.argv.slice(2));
const { runEngineProcess } = await import('./engine.js');
runEngineProcess(dataplanePath, early);
