/**
 * The kernel calls the bootstrap makes, gathered behind one interface: resources.ts and the
 * helper are written against it (and tested with fakes); os-system.ts binds it to src/os/.
 */
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
  openRaw6(): number | Promise<number>;
  /** A listening TCP socket (MetricsListen), served by the engine. */
  openTcpListener(address: string, port: number): number;
  closeFd(fd: number): void;
}
