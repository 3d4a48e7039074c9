/**
 * Listening stream sockets opened by the root bootstrap and served by the engine (which gets the
 * descriptor): the control socket (AF_UNIX) and the optional metrics listener (TCP).
 */
import { native } from './native.js';
import { hinted } from './os-error.js';
import type { ErrnoHints } from './os-error.js';

/** Pending connections the kernel holds while the engine is busy or restarting. */
export const LISTEN_BACKLOG = 16;

const UNIX_HINTS: ErrnoHints = {
  EADDRINUSE: 'the socket file exists: another instance is running?',
  ENOENT: 'its directory does not exist',
  EACCES: 'its directory is not writable',
};

const TCP_HINTS: ErrnoHints = {
  EADDRINUSE: 'the port is taken',
  EADDRNOTAVAIL: 'not an address of this host',
};

/** A listening, non-blocking, close-on-exec Unix stream socket bound to `path` (which must not exist). */
export function openUnixListener(path: string): number {
  return hinted(UNIX_HINTS, () => native.openUnixListener(path, LISTEN_BACKLOG));
}

/** A listening, non-blocking, close-on-exec TCP socket on an IPv4 or IPv6 literal. */
export function openTcpListener(address: string, port: number): number {
  return hinted(TCP_HINTS, () => native.openTcpListener(address, port, LISTEN_BACKLOG));
}
