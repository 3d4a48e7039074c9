/**
 * Raw IP sockets. The Teredo server forwards whole IPv6 packets it has judged on a raw IPv6
 * socket; test tools send IPv4/UDP packets with spoofed sources on a raw IPv4 socket.
 */
import { native } from './native.js';
import { hinted } from './os-error.js';
import type { ErrnoHints } from './os-error.js';

const RAW_HINTS: ErrnoHints = { EPERM: 'needs root / CAP_NET_RAW', EACCES: 'needs root / CAP_NET_RAW' };

/** socket(AF_INET6, SOCK_RAW, IPPROTO_RAW): non-blocking, close-on-exec; packets include the IPv6 header. */
export function openRaw6(): number {
  return hinted(RAW_HINTS, () => native.openRaw6());
}

/**
 * socket(AF_INET, SOCK_RAW, IPPROTO_RAW): non-blocking, close-on-exec, IP_HDRINCL implied, so
 * every packet carries its own IPv4 header (any source address). Send with sendUdpBatch
 * (packet-io.ts): each slot holds a whole IPv4 packet, addresses[i] must be its destination,
 * ports[i] is ignored. The kernel fills in the IPv4 header checksum (and the identification if
 * it is 0) and never touches the UDP header.
 */
export function openRaw4(): number {
  return hinted(RAW_HINTS, () => native.openRaw4());
}

/**
 * Sends bytes[offset, offset + length), one whole IPv6 packet, on an openRaw6 socket to the
 * packet's own destination address (bytes 24..40 of its header). Returns the bytes sent, or a
 * NEGATIVE errno (-EAGAIN when the socket buffer is full; -EINVAL for fewer than 40 bytes);
 * never throws for I/O, only for arguments outside `bytes`.
 */
export function sendRaw6(fd: number, bytes: Uint8Array, offset: number, length: number): number {
  return native.sendRaw6(fd, bytes, offset, length);
}
