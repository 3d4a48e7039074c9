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

/**
 * sendmmsg of slots first..first+count-1, each to its addresses[i]:ports[i]. With `gso` (from
 * createUdpGso for this same socket), consecutive slots with the same destination and the same
 * length go as one UDP GSO message (up to 64 datagrams, 65000 bytes), which the kernel splits into
 * the same datagrams, in the same order, at a fraction of the cost per datagram. The result still
 * counts slots (from `first`, in order), whatever the number of messages.
 */
export function sendUdpBatch(
  fd: number,
  batch: PacketBatch,
  first: number,
  count: number,
  gso?: UdpGso,
): number {
  return native.sendUdpBatch(
    fd,
    batch.data,
    batch.slotSize,
    batch.lengths,
    batch.addresses,
    batch.ports,
    first,
    count,
    gso?.cells,
  );
}

/** The cells of a UdpGso, as the addon reads and updates them (packet_io.cc GsoCell). */
const GSO_ENABLED = 0;
const GSO_MESSAGES = 1;
const GSO_SEGMENTS = 2;
const GSO_REFUSED = 3;
const GSO_TEST_REFUSE = 4;
const GSO_CELLS = 5;

/**
 * UDP GSO (UDP_SEGMENT) for one UDP socket's sends, and what it did. The kernel may refuse it
 * (IPsec routes, checksums off, segments above the device MTU): the refused message is sent
 * again at once as plain datagrams, so nothing is lost, and when the refusal means the socket can
 * never do GSO, `enabled` turns false for good. One per socket and thread; not for raw sockets.
 */
export interface UdpGso {
  /** Whether sends may still merge datagrams. */
  readonly enabled: boolean;
  /** GSO messages sent, and the datagrams they carried. */
  readonly messages: number;
  readonly segments: number;
  /** GSO messages the kernel refused (each sent again as plain datagrams). */
  readonly refusals: number;
  /** The state the addon reads and updates in place. */
  readonly cells: Float64Array;
}

/**
 * GSO state for sends on `fd`: enabled when fd is a UDP socket on a kernel that has UDP_SEGMENT
 * (Linux 4.18+). Anything else, a raw socket say, would send a merged message as ONE datagram,
 * so it gets a state that never merges.
 */
export function createUdpGso(fd: number): UdpGso {
  const cells = new Float64Array(GSO_CELLS);
  cells[GSO_ENABLED] = native.udpGsoSupported(fd) ? 1 : 0;
  return {
    cells,
    get enabled(): boolean {
      return cells[GSO_ENABLED] === 1;
    },
    get messages(): number {
      return cells[GSO_MESSAGES] ?? 0;
    },
    get segments(): number {
      return cells[GSO_SEGMENTS] ?? 0;
    },
    get refusals(): number {
      return cells[GSO_REFUSED] ?? 0;
    },
  };
}

/**
 * Test hook: the next `count` GSO messages go out with a malformed UDP_SEGMENT control message,
 * which the kernel refuses (EINVAL) as it would refuse GSO on a socket that cannot do it.
 */
export function refuseNextGsoForTest(gso: UdpGso, count: number): void {
  gso.cells[GSO_TEST_REFUSE] = count;
}

/**
 * readv() from a non-blocking TUN queue into slots 0..n-1 until it would block or `max` packets
 * were read. Slots should hold the interface MTU (64 KiB + 40 with segmentation offloads); a
 * longer packet is reported with length 0. A queue with a virtio header (tunHasVnetHeader) needs
 * `headers`, 10 bytes per slot, where each packet's virtio_net_hdr goes.
 */
export function readTunBatch(
  fd: number,
  batch: PacketBatch,
  max: number = batch.count,
  headers?: Uint8Array,
): number {
  return native.readTunBatch(fd, batch.data, batch.slotSize, batch.lengths, max, headers);
}

/**
 * write() of slots first..first+count-1 to a TUN queue, one packet each; with `vnet` (a queue
 * with a virtio header), each behind a zero virtio_net_hdr, in the same system call.
 */
export function writeTunBatch(
  fd: number,
  batch: PacketBatch,
  first: number,
  count: number,
  vnet = false,
): number {
  return native.writeTunBatch(fd, batch.data, batch.slotSize, batch.lengths, first, count, vnet);
}
