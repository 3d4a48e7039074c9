/**
 * The kernel's link and IPv4 address and route notifications (a NETLINK_ROUTE socket, opened by
 * the addon), read as they come on this thread's event loop. Each datagram goes to the caller
 * as bytes; netlink-route.ts parses them.
 */
import { readSync } from 'node:fs';
import { closeFd } from './fd.js';
import { native } from './native.js';
import { watchReadable } from './readiness.js';

/** Netlink datagrams are at most a page or two; 32 KiB is what iproute2 reads with. */
const BUFFER_BYTES = 32 * 1024;

export interface RouteMonitor {
  stop(): void;
}

/**
 * Opens the socket (throws an errno error if it cannot) and calls `onDatagram` for each
 * notification datagram; `onLost` when the kernel dropped some (ENOBUFS) or reading failed.
 */
export function openRouteMonitor(
  onDatagram: (bytes: Uint8Array, length: number) => void,
  onLost: (code: string) => void,
): RouteMonitor {
  const fd = native.openNetlinkRoute4();
  const buffer = new Uint8Array(BUFFER_BYTES);
  let stopped = false;
  const watch = watchReadable(fd, (status) => {
    if (status < 0) {
      onLost(`poll ${status}`);
      return;
    }
    for (;;) {
      let length: number;
      try {
        length = readSync(fd, buffer, 0, BUFFER_BYTES, null);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? 'UNKNOWN';
        if (code !== 'EAGAIN' && code !== 'EWOULDBLOCK') onLost(code);
        return;
      }
      if (length === 0) return;
      onDatagram(buffer, length);
    }
  });
  return {
    stop(): void {
      if (stopped) return;
      stopped = true;
      watch.stop();
      closeFd(fd);
    },
  };
}
