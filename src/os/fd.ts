/** Closing descriptors the addon opened (TUN queues, sockets). */
import { native } from './native.js';

/** close(2); throws EBADF for a descriptor that is not open. */
export function closeFd(fd: number): void {
  native.closeFd(fd);
}
