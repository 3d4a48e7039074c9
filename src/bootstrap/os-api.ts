/**
 * The kernel calls the bootstrap makes, gathered behind one interface: resources.ts and the
 * helper are written against it (and tested with fakes); os-system.ts binds it to src/os/.
 */
import type { LocalLinkInfo } from '../os/local-link.js';
import type { TableRoute } from '../os/route-table.js';
import type { TunControl } from './tun-control.js';

export interface OpenedTun {
  readonly name: string;
  readonly ifindex: number;
  readonly fds: readonly number[];
}

export interface OsApi extends TunControl {
  openTun(name: string | null, queues: number): OpenedTun | Promise<OpenedTun>;
  openUdp4(
    bindAddress: string,
    port: number,
    options: { readonly reusePort: boolean; readonly receiveBufferBytes?: number },
  ): number | Promise<number>;
  localPort(fd: number): number;
  /** The interface traffic to destination:port leaves by (bindAddress if not 0.0.0.0), or null. */
  localLinkTowards(destination: string, port: number, bindAddress: string): Promise<LocalLinkInfo | null>;
  openMulticast4(group: string, port: number, interfaceAddress: string): number;
  setMulticastSend(fd: number, interfaceAddress: string): void;
  openRaw6(): number | Promise<number>;
  /** Adds (present) or removes a route in a table of its own (a relay's AnnounceTable); removing an absent one is fine. */
  setTableRoute6(route: TableRoute, present: boolean): void | Promise<void>;
  /** A listening TCP socket (MetricsListen), served by the engine. */
  openTcpListener(address: string, port: number): number;
  closeFd(fd: number): void;
}
