/**
 * The NAT type probe's throwaway socket Q (src/teredo/nat-type.ts, the stranger test), opened by
 * the jailed engine itself: a UDP socket bound to our address towards the server, on a port the
 * kernel picks, needs no privilege. Read on the control plane's thread (udp-reader.ts).
 */
import { closeFd } from '../os/fd.js';
import { createPacketBatch } from '../os/packet-batch.js';
import { sendUdpBatch } from '../os/packet-io.js';
import { localPort, openUdp4 } from '../os/udp.js';
import { formatIPv4 } from '../teredo/ipv4.js';
import { readUdp } from './udp-reader.js';
import type { UdpDatagram, UdpReaderFactory } from './udp-reader.js';

export interface ProbeSocket {
  readonly port: number;
  /** False when the datagram could not be sent. */
  send(datagram: Uint8Array, ipv4: number, port: number): boolean;
  close(): void;
}

/** Null when the socket cannot be opened (the caller logs `error`). */
export type ProbeSocketOpener = (
  localIPv4: number,
  onDatagram: UdpDatagram,
) => { readonly socket: ProbeSocket } | { readonly socket: null; readonly error: string };

/** An RS is 61 bytes. */
const SEND_SLOT_BYTES = 128;

export function probeSocketOpener(reader: UdpReaderFactory = readUdp): ProbeSocketOpener {
  return (localIPv4, onDatagram) => {
    let fd: number;
    try {
      fd = openUdp4(formatIPv4(localIPv4), 0, { reusePort: false });
    } catch (error) {
      return { socket: null, error: error instanceof Error ? error.message : String(error) };
    }
    const port = localPort(fd);
    const reading = reader(fd, onDatagram);
    const batch = createPacketBatch(1, SEND_SLOT_BYTES);
    let open = true;
    return {
      socket: {
        port,
        send(datagram, ipv4, toPort) {
          if (!open || datagram.length > SEND_SLOT_BYTES) return false;
          batch.data.set(datagram, 0);
          batch.lengths[0] = datagram.length;
          batch.addresses[0] = ipv4 >>> 0;
          batch.ports[0] = toPort;
          return sendUdpBatch(fd, batch, 0, 1) === 1;
        },
        close() {
          if (!open) return;
          open = false;
          reading.stop();
          closeFd(fd);
        },
      },
    };
  };
}
