/**
 * Loads the N-API addon (build/Release/miredo_native.node, built by `npm ci` through the root
 * binding.gyp) and types it. Other modules use the wrappers in this directory, which add hints
 * to errors and document the semantics; this is the raw surface.
 *
 * Load it before chroot: afterwards the path no longer exists. Each thread (main or worker)
 * gets its own module instance; the addon keeps no global state.
 */
import { createRequire } from 'node:module';

export interface NativeTun {
  readonly name: string;
  readonly ifindex: number;
  readonly fds: readonly number[];
}

export interface NativeAddon {
  openTun(name: string | null, queues: number): NativeTun;
  ifNameToIndex(name: string): number;
  getMtu(ifname: string): number;
  setMtu(ifname: string, mtu: number): void;
  setLinkUp(ifname: string, up: boolean): void;
  addAddress6(ifindex: number, address: Uint8Array, prefixLen: number): void;
  delAddress6(ifindex: number, address: Uint8Array, prefixLen: number): void;
  addRoute6(ifindex: number, dst: Uint8Array, prefixLen: number, metric: number): void;
  delRoute6(ifindex: number, dst: Uint8Array, prefixLen: number, metric: number): void;

  openUdp4(bindAddress: string, port: number, reusePort: boolean, receiveBufferBytes: number): number;
  localPort(fd: number): number;
  openRaw6(): number;
  openRaw4(): number;
  closeFd(fd: number): void;

  setGroupsEmpty(): void;
  setNoNewPrivs(): void;
  lockFile(fd: number): void;

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
  readTunBatch(fd: number, data: Uint8Array, slotSize: number, lengths: Uint32Array, max: number): number;
  writeTunBatch(
    fd: number,
    data: Uint8Array,
    slotSize: number,
    lengths: Uint32Array,
    first: number,
    count: number,
  ): number;
  sendRaw6(fd: number, bytes: Uint8Array, offset: number, length: number): number;

  watchFd(fd: number, events: number, callback: (status: number, events: number) => void): number;
  watchSetEvents(id: number, events: number): void;
  watchStop(id: number): void;

  adviseHugePages(bytes: Uint8Array): number;
}

// Relative to the compiled file: dist/src/os/native.js → build/Release/.
const ADDON_PATH = '../../../build/Release/miredo_native.node';

function loadAddon(): NativeAddon {
  const require = createRequire(import.meta.url);
  try {
    return require(ADDON_PATH) as NativeAddon;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(
      `cannot load the native addon (${reason}): build it with \`npm ci\` or \`npx node-gyp rebuild\``,
      {
        cause: error,
      },
    );
  }
}

export const native: NativeAddon = loadAddon();
