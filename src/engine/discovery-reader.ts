/**
 * Local discovery's socket (224.0.0.253:3544, opened by the bootstrap: src/bootstrap/
 * discovery-socket.ts), read on the control plane's thread: announcements are rare, so a small
 * batch drained when readable is plenty, and a flood from the link is bounded per loop turn
 * (the kernel drops what its buffer cannot hold). Every datagram goes to the tunnel core, which
 * judges and counts it (src/teredo/local-discovery.ts).
 */
import { createPacketBatch } from '../os/packet-batch.js';
import { recvUdpBatch, watchReadable } from '../os/packet-io.js';

/** A datagram: bytes[offset, offset + length) from srcIPv4:srcPort, sent to destinationIPv4. */
export type DiscoveryDatagram = (
  bytes: Uint8Array,
  offset: number,
  length: number,
  srcIPv4: number,
  srcPort: number,
  destinationIPv4: number,
) => void;

export interface DiscoveryReader {
  stop(): void;
}

export type DiscoveryReaderFactory = (fd: number, onDatagram: DiscoveryDatagram) => DiscoveryReader;

const SLOTS = 8;
/** A discovery bubble is 40 bytes; a longer datagram is reported with length 0 and refused. */
const SLOT_BYTES = 2048;
const BATCHES_PER_TURN = 4;

export const readDiscovery: DiscoveryReaderFactory = (fd, onDatagram) => {
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
