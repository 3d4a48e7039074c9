/**
 * Loads the N-API addon (build/Release/miredo_native.node, built by `npm ci` through the root
 * binding.gyp) and types it. Other modules use the wrappers in this directory, which add hints
 * to errors and document the semantics; this is the raw surface.
 *
 * Load it before chroot: afterwards the path no longer exists. Each thread (main or worker)
 * gets its own module instance; the addon keeps no global state. A data-plane thread runs from
 * source text held in memory (engine/dataplane-program.ts), so it has no location to find the
 * addon from: its creator passes the absolute path under ADDON_PATH_KEY in workerData, and
 * dlopen() then returns the library the process already holds, by that name, even in the jail.
 */
import { isMainThread, workerData } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';

export interface NativeTun {
  readonly name: string;
  readonly ifindex: number;
  readonly fds: readonly number[];
  /** The TUN_F_* offloads obtained (0: no virtio header). */
  readonly offloads: number;
}

export interface NativeAddon {
  openTun(name: string | null, queues: number, offloads?: number, refuse?: number): NativeTun;
  tunHasVnetHeader(fd: number): boolean;
  ifNameToIndex(name: string): number;
  getMtu(ifname: string): number;
  setMtu(ifname: string, mtu: number): void;
  setLinkUp(ifname: string, up: boolean): void;
  addAddress6(ifindex: number, address: Uint8Array, prefixLen: number): void;
  delAddress6(ifindex: number, address: Uint8Array, prefixLen: number): void;
  addRoute6(ifindex: number, dst: Uint8Array, prefixLen: number, metric: number): void;
  delRoute6(ifindex: number, dst: Uint8Array, prefixLen: number, metric: number): void;
  /** One NETLINK_ROUTE request with NLM_F_ACK (route-table.ts); 0 or the errno the kernel answered. */
  netlinkRouteRequest(message: Uint8Array): number;

  openUdp4(bindAddress: string, port: number, reusePort: boolean, receiveBufferBytes: number): number;
  localPort(fd: number): number;
  openMulticast4(group: string, port: number, interfaceAddress: string): number;
  setMulticastSend(fd: number, interfaceAddress: string): void;
  openRaw6(): number;
  openRaw4(): number;
  openNetlinkRoute4(): number;
  openUnixListener(path: string, backlog: number): number;
  openTcpListener(address: string, port: number, backlog: number): number;
  closeFd(fd: number): void;

  setGroupsEmpty(): void;
  setNoNewPrivs(): void;
  lockFile(fd: number): void;
  waitChild(): number;

  recvUdpBatch(
    fd: number,
    data: Uint8Array,
    slotSize: number,
    lengths: Uint32Array,
    addresses: Uint32Array,
    ports: Uint16Array,
    localAddresses: Uint32Array,
    max: number,
  ): number;
  sendUdpBatch(
    fd: number,
    data: Uint8Array,
    slotSize: number,
    lengths: Uint32Array,
    addresses: Uint32Array,
    ports: Uint16Array,
    first: number,
    count: number,
    gso?: Float64Array,
  ): number;
  udpGsoSupported(fd: number): boolean;
  readTunBatch(
    fd: number,
    data: Uint8Array,
    slotSize: number,
    lengths: Uint32Array,
    max: number,
    headers?: Uint8Array,
  ): number;
  writeTunBatch(
    fd: number,
    data: Uint8Array,
    slotSize: number,
    lengths: Uint32Array,
    first: number,
    count: number,
    vnet?: boolean,
  ): number;
  sendRaw6(fd: number, bytes: Uint8Array, offset: number, length: number): number;

  watchFd(fd: number, events: number, callback: (status: number, events: number) => void): number;
  watchSetEvents(id: number, events: number): void;
  watchStop(id: number): void;

  adviseHugePages(bytes: Uint8Array): number;
}

// Relative to the compiled file: dist/src/os/native.js (or a bundle three levels down) → build/Release/.
const ADDON_RELATIVE_PATH = '../../../build/Release/miredo_native.node';

/** The workerData key that gives a thread started from memory the addon's absolute path. */
export const ADDON_PATH_KEY = 'miredoNativeAddonPath';

function addonPath(): string {
  if (!isMainThread && typeof workerData === 'object' && workerData !== null) {
    const given = (workerData as Record<string, unknown>)[ADDON_PATH_KEY];
    if (typeof given === 'string') return given;
  }
  return fileURLToPath(new URL(ADDON_RELATIVE_PATH, import.meta.url));
}

function loadAddon(): { readonly path: string; readonly addon: NativeAddon } {
  try {
    const path = addonPath();
    const module = { exports: {} };
    process.dlopen(module, path);
    return { path, addon: module.exports as NativeAddon };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(
      `cannot load the native addon (${reason}): build it with \`npm ci\` or \`npx node-gyp rebuild\``,
      { cause: error },
    );
  }
}

const loaded = loadAddon();
/** The absolute path this thread loaded the addon from. */
export const NATIVE_ADDON_PATH: string = loaded.path;
export const native: NativeAddon = loaded.addon;
