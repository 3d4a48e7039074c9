/**
 * A rarely used UDP socket read on the control plane's thread: local discovery's (224.0.0.253:3544,
 * opened by the bootstrap: src/bootstrap/discovery-socket.ts) and the NAT type probe's throwaway
 * one (probe-socket.ts). Their datagrams are rare, so a small batch drained when readable is
 * plenty, and a flood is bounded per loop turn (the kernel drops what its buffer cannot hold).
 * The receiver judges and counts every datagram.
 */
import { createPacketBatch } from '../os/packet-batch.js';
import { recvUdpBatch, watchReadable } from '../os/packet-io.js';

/** A datagram: bytes[offset, offset + length) from srcIPv4:srcPort, sent to destinationIPv4. */
export type UdpDatagram = (
  bytes: Uint8Array,
  offset: number,
  length: number,
  srcIPv4: number,
  srcPort: number,
  destinationIPv4: number,
) => void;

export interface UdpReader {
  stop(): void;
}

export type UdpReaderFactory = (fd: number, onDatagram: UdpDatagram) => UdpReader;

const SLOTS = 8;
/** Far above what these sockets expect (a discovery bubble: 40 bytes, an RA: ~100); a longer datagram is reported with length 0. */
const SLOT_BYTES = 2048;
const BATCHES_PER_TURN = 4;

export const readUdp: UdpReaderFactory = (fd, onDatagram) => {
  const batch = createPacketBatch(SLOTS, SLOT_BYTES);
  const watch = watchReadable(fd, (status) => {
    if (status < 0) {
      watch.stop();
      return;
    }
    for (let turn = 0; turn < BATCHES_PER_TURN; turn++) {
      const received = recvUdpBatch(fd, batch);
      for (let i = 0; i < received; i++) {
        onDatagram(
          batch.data,
          i * SLOT_BYTES,
          batch.lengths[i]!,
          batch.addresses[i]!,
          batch.ports[i]!,
          batch.localAddresses[i]!,
        );
      }
      if (received < SLOTS) return;
    }
  });
  return { stop: () => watch.stop() };
};
