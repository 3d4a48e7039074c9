/**
 * Batched packet I/O, the data plane's only system calls: datagrams and TUN packets move
 * between the kernel and a PacketBatch's slots, several per system call, without allocating.
 *
 * Results, never exceptions, for I/O: every function returns n ≥ 0, the number of slots done
 * (0 when the descriptor would block), or a NEGATIVE ERRNO (see errnoName) when the very first
 * slot failed. An error after some slots were done ends the batch early; the next call reports
 * it. So a sender that gets -errno should drop slot `first` and go on with first + 1.
 * Invalid arguments (programmer errors: wrong types, ranges beyond the batch, a length larger
 * than the slot) throw.
 */
import { native } from './native.js';
import type { PacketBatch } from './packet-batch.js';

export { errnoName } from './errno.js';
export { READABLE, WRITABLE, watchFd, watchReadable, watchWritable } from './readiness.js';
export type { FdWatch, FdWatcher, ReadinessCallback } from './readiness.js';

/**
 * recvmmsg(MSG_DONTWAIT) into slots 0..n-1 (at most `max`): payload, lengths, the sender in
 * addresses/ports, and the datagram's destination IPv4 in localAddresses. A datagram longer than
 * the slot is reported with length 0.
 */
export function recvUdpBatch(fd: number, batch: PacketBatch, max: number = batch.count): number {
  return native.recvUdpBatch(
    fd,
    batch.data,
    batch.slotSize,
    batch.lengths,
    batch.addresses,
    batch.ports,
    batch.localAddresses,
    max,
  );
}

/** sendmmsg of slots first..first+count-1, each to its addresses[i]:ports[i]. */
export function sendUdpBatch(fd: number, batch: PacketBatch, first: number, count: number): number {
  return native.sendUdpBatch(
    fd,
    batch.data,
    batch.slotSize,
    batch.lengths,
    batch.addresses,
    batch.ports,
    first,
    count,
  );
}

/**
 * readv() from a non-blocking TUN queue into slots 0..n-1 until it would block or `max` packets
 * were read. Slots should hold the interface MTU; a longer packet is reported with length 0.
 */
export function readTunBatch(fd: number, batch: PacketBatch, max: number = batch.count): number {
  return native.readTunBatch(fd, batch.data, batch.slotSize, batch.lengths, max);
}

/** write() of slots first..first+count-1 to a TUN queue, one packet each. */
export function writeTunBatch(fd: number, batch: PacketBatch, first: number, count: number): number {
  return native.writeTunBatch(fd, batch.data, batch.slotSize, batch.lengths, first, count);
}
