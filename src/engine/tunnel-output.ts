/**
 * The control plane's packet output: what the tunnel core and qualification send, written at
 * once on the first worker's UDP socket and TUN queue (both are safe to share between threads).
 * The slow path is rare, so one packet per system call is fine; nothing here throws on I/O.
 */
import { createPacketBatch } from '../os/packet-batch.js';
import { sendUdpBatch, writeTunBatch } from '../os/packet-io.js';
import { tunHasVnetHeader } from '../os/tun.js';
import type { TunnelOutput } from '../teredo/relay.js';

/** The two system calls, as an interface so tests can record instead. */
export interface TunnelIo {
  sendUdp(bytes: Uint8Array, offset: number, length: number, ipv4: number, port: number): boolean;
  writeTun(bytes: Uint8Array, offset: number, length: number): boolean;
}

/** Packets larger than this cannot be sent: the largest UDP payload / IPv6 packet. */
const SLOT_BYTES = 65535;

export function createFdTunnelIo(udpFd: number, tunFd: number): TunnelIo {
  const batch = createPacketBatch(1, SLOT_BYTES);
  const vnet = tunHasVnetHeader(tunFd);
  const put = (bytes: Uint8Array, offset: number, length: number): boolean => {
    if (length < 0 || length > SLOT_BYTES || offset < 0 || offset + length > bytes.length) return false;
    batch.data.set(bytes.subarray(offset, offset + length), 0);
    batch.lengths[0] = length;
    return true;
  };
  return {
    sendUdp(bytes, offset, length, ipv4, port) {
      if (!put(bytes, offset, length)) return false;
      batch.addresses[0] = ipv4 >>> 0;
      batch.ports[0] = port;
      return sendUdpBatch(udpFd, batch, 0, 1) === 1;
    },
    writeTun(bytes, offset, length) {
      if (!put(bytes, offset, length)) return false;
      return writeTunBatch(tunFd, batch, 0, 1, vnet) === 1;
    },
  };
}

/** A TunnelOutput over `io` that counts what could not be sent or written. */
export function countingOutput(
  io: TunnelIo,
  counters: Float64Array,
  sendFailed: number,
  tunWriteFailed: number,
): TunnelOutput {
  return {
    sendUdp(bytes, offset, length, ipv4, port) {
      if (!io.sendUdp(bytes, offset, length, ipv4, port))
        counters[sendFailed] = (counters[sendFailed] ?? 0) + 1;
    },
    writeTun(bytes, offset, length) {
      if (!io.writeTun(bytes, offset, length)) counters[tunWriteFailed] = (counters[tunWriteFailed] ?? 0) + 1;
    },
  };
}
