/**
 * Entry point of the engine process.
 * Privileges: started as root by the bootstrap, holding only the descriptors it was given
 * (TUN queues, UDP sockets, raw socket at 4..) and the IPC channel at 3. It loads everything it
 * needs here, through static imports, then chroots and drops to an unprivileged user before it
 * handles any traffic.
 */
import { fileURLToPath } from 'node:url';
import { runEngineProcess } from './engine.js';

runEngineProcess(fileURLToPath(new URL('./dataplane.js', import.meta.url)));
