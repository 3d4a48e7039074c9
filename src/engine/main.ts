/**
 * Entry point of the engine process.
 * Privileges: started as root by the bootstrap, holding only the descriptors it was given
 * (TUN queues, UDP sockets, raw socket at 4..) and the IPC channel at 3. It loads everything it
 * needs here, then chroots and drops to an unprivileged user before any thread reads a packet.
 *
 * Order matters for start-up time: no_new_privs first (every thread created afterwards inherits
 * it), then the data-plane program into memory and its threads (early-threads.ts), and only then
 * the engine's own modules, so that the threads boot while this thread loads.
 */
import { setNoNewPrivs } from '../os/privileges.js';
import { loadDataplaneProgram } from './dataplane-program.js';
import { startEarlyThreads } from './early-threads.js';

setNoNewPrivs();
const program = loadDataplaneProgram();
const early = startEarlyThreads(program, process.argv.slice(2));
const { runEngineProcess } = await import('./engine.js');
runEngineProcess(program, early);
