/**
 * The IPv4 interface a client's local discovery runs on: the one holding its bind address, or,
 * bound to 0.0.0.0, the one the kernel routes its Teredo server through (found by connecting a
 * UDP socket, which sends nothing), with that address's prefix length.
 */
import { createSocket } from 'node:dgram';
import { networkInterfaces } from 'node:os';

export interface LocalLinkInfo {
  readonly name: string;
  readonly address: string;
  readonly prefixLength: number;
}

/** The local address the kernel would send from towards destination:port, or null (no route). */
function sourceAddressTowards(destination: string, port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    const finish = (address: string | null): void => {
      socket.close();
      resolve(address);
    };
    socket.once('error', () => finish(null));
    socket.connect(port, destination, () => {
      try {
        finish(socket.address().address);
      } catch {
        finish(null);
      }
    });
  });
}

/** The interface holding `address` and its prefix length, or null. */
export function interfaceOf(address: string): LocalLinkInfo | null {
  for (const [name, entries] of Object.entries(networkInterfaces())) {
    for (const entry of entries ?? []) {
      if (entry.family !== 'IPv4' || entry.address !== address || entry.internal) continue;
      const prefixLength = Number(entry.cidr?.split('/')[1]);
      if (!Number.isInteger(prefixLength)) continue;
      return { name, address, prefixLength };
    }
  }
  return null;
}

export async function localLinkTowards(
  destination: string,
  port: number,
  bindAddress: string,
): Promise<LocalLinkInfo | null> {
  const address = bindAddress !== '0.0.0.0' ? bindAddress : await sourceAddressTowards(destination, port);
  return address === null ? null : interfaceOf(address);
}
