/**
 * The kernel operations the bootstrap performs on its tunnel interface, as an interface so that
 * the helper and the static-tunnel code can be tested without a kernel. The real implementation
 * is src/os/tun.ts, bound in os-system.ts.
 */
export interface TunControl {
  setMtu(ifname: string, mtu: number): void | Promise<void>;
  setLinkUp(ifname: string, up: boolean): void | Promise<void>;
  addAddress6(ifindex: number, address: Uint8Array, prefixLen: number): void | Promise<void>;
  delAddress6(ifindex: number, address: Uint8Array, prefixLen: number): void | Promise<void>;
  addRoute6(ifindex: number, dst: Uint8Array, prefixLen: number, metric: number): void | Promise<void>;
  delRoute6(ifindex: number, dst: Uint8Array, prefixLen: number, metric: number): void | Promise<void>;
}

export interface TunnelInterface {
  readonly name: string;
  readonly index: number;
}
