/**
 * Teredo's UDP/IPv4 sockets, opened natively because Node 20's dgram ignores reusePort and
 * offers no IP_MTU_DISCOVER/IP_PKTINFO. The descriptor is meant for packet-io.ts.
 */
import { native } from './native.js';
import { hinted } from './os-error.js';
import type { ErrnoHints } from './os-error.js';

export interface UdpOptions {
  /** SO_REUSEPORT: several sockets (one per data-plane worker) share the address and port. */
  readonly reusePort: boolean;
  /** SO_RCVBUF(FORCE) in bytes; absent or 0 keeps the system default. */
  readonly receiveBufferBytes?: number;
}

const OPEN_HINTS: ErrnoHints = {
  EADDRINUSE: 'the port is taken: another instance is running?',
  EADDRNOTAVAIL: 'the bind address is not an address of this host',
  EACCES: 'ports below 1024 need root / CAP_NET_BIND_SERVICE',
};

/**
 * A bound, non-blocking, close-on-exec UDP socket with DF never set (IP_PMTUDISC_DONT) and
 * IP_PKTINFO on (recvUdpBatch reports each datagram's destination address). Port 0 picks one.
 */
export function openUdp4(bindAddress: string, port: number, opts: UdpOptions): number {
  return hinted(OPEN_HINTS, () =>
    native.openUdp4(bindAddress, port, opts.reusePort, opts.receiveBufferBytes ?? 0),
  );
}

/** The port a socket is bound to. */
export function localPort(fd: number): number {
  return native.localPort(fd);
}

/**
 * Local discovery's receive socket: group:port with SO_REUSEADDR (each Teredo client of the host
 * gets its copy), a member of the group on the interface holding interfaceAddress, IP_PKTINFO on.
 */
export function openMulticast4(group: string, port: number, interfaceAddress: string): number {
  return hinted(MULTICAST_HINTS, () => native.openMulticast4(group, port, interfaceAddress));
}

const MULTICAST_HINTS: ErrnoHints = {
  EADDRINUSE: 'another program holds the port without SO_REUSEADDR',
  EADDRNOTAVAIL: 'the interface address is not an address of this host',
  ENODEV: 'the interface cannot join multicast groups',
};

/** Multicast sent from `fd` leaves by the interface holding interfaceAddress, TTL 1, looped back. */
export function setMulticastSend(fd: number, interfaceAddress: string): void {
  native.setMulticastSend(fd, interfaceAddress);
}
