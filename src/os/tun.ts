/**
 * The Teredo tunnel interface: a TUN device (IFF_TUN | IFF_NO_PI: every read/write is one bare
 * IPv6 packet), and the ioctls libtun6 uses to configure it. Errors are thrown as Error with
 * `code` (errno name), `syscall` and a hint.
 */
import { closeSync, openSync } from 'node:fs';
import { native } from './native.js';
import { hinted, NEEDS_NET_ADMIN } from './os-error.js';
import type { ErrnoHints } from './os-error.js';

export interface TunDevice {
  readonly name: string;
  readonly ifindex: number;
  /** One non-blocking, close-on-exec descriptor per queue. */
  readonly fds: readonly number[];
  /** The TUN_F_* offloads the kernel accepted; 0: the queues have no virtio header. */
  readonly offloads: number;
}

/** TUNSETOFFLOAD bits (<linux/if_tun.h>). */
export const TUN_F_CSUM = 0x01;
export const TUN_F_TSO6 = 0x04;
export const TUN_F_TSO_ECN = 0x08;
export const TUN_F_USO6 = 0x40;
/** Everything the data plane can take (src/teredo/tun-offload.ts). */
export const TUN_OFFLOADS_WANTED = TUN_F_CSUM | TUN_F_TSO6 | TUN_F_TSO_ECN | TUN_F_USO6;

export interface TunOffloadOptions {
  /** TUN_F_* bits wanted; 0 (the default) opens the device without a virtio header. */
  readonly offloads?: number;
  /** For tests: bits to treat as refused by the kernel (EINVAL), to exercise the fallback. */
  readonly refuse?: number;
}

const OPEN_HINTS: ErrnoHints = {
  ENOENT: 'load the tun module (modprobe tun)',
  ENODEV: 'the kernel lacks TUN/TAP support (CONFIG_TUN)',
  ENXIO: 'the kernel lacks TUN/TAP support (CONFIG_TUN)',
  EBUSY: 'the interface is in use: another instance is running?',
  EINVAL: 'invalid interface name, or an interface of that name exists with other settings',
  EPERM: NEEDS_NET_ADMIN,
  EACCES: NEEDS_NET_ADMIN,
};

const CONFIG_HINTS: ErrnoHints = {
  EPERM: NEEDS_NET_ADMIN,
  EACCES: NEEDS_NET_ADMIN,
  ENODEV: 'no such interface',
};

/**
 * Creates the device with `queues` queues (IFF_MULTI_QUEUE when more than one). `name` must
 * have fewer than 16 characters; null lets the kernel choose (tun%d). With one queue an
 * interface of that name in use by another process is EBUSY, as with Miredo; with several,
 * any existing interface of that name is EBUSY (IFF_TUN_EXCL), never silently shared.
 * The interface disappears when every descriptor is closed. With `options.offloads`, the queues
 * get IFF_VNET_HDR and as many of those offloads as the kernel accepts (TSO6 at least, USO6 when
 * it has it); when it refuses them, the device is reopened without a virtio header.
 */
export function openTun(name: string | null, queues: number, options: TunOffloadOptions = {}): TunDevice {
  return hinted(OPEN_HINTS, () => native.openTun(name, queues, options.offloads ?? 0, options.refuse ?? 0));
}

/**
 * Whether a TUN queue's packets carry a virtio_net_hdr (opened with offloads): TUNGETIFF, so a
 * process handed only the descriptor frames its reads and writes alike.
 */
export function tunHasVnetHeader(fd: number): boolean {
  try {
    return native.tunHasVnetHeader(fd);
  } catch {
    // Not a TUN queue at all (a test's socket pair): plain packets.
    return false;
  }
}

export function ifNameToIndex(name: string): number {
  return hinted(CONFIG_HINTS, () => native.ifNameToIndex(name));
}

export function getMtu(ifname: string): number {
  return hinted(CONFIG_HINTS, () => native.getMtu(ifname));
}

/** SIOCSIFMTU; anything outside 1280..65535 is refused (EINVAL) without touching the interface. */
export function setMtu(ifname: string, mtu: number): void {
  hinted(CONFIG_HINTS, () => native.setMtu(ifname, mtu));
}

/** Brings the link up or down; also forces NOARP and clears MULTICAST and BROADCAST (point-to-point). */
export function setLinkUp(ifname: string, up: boolean): void {
  hinted(CONFIG_HINTS, () => native.setLinkUp(ifname, up));
}

/** SIOCSIFADDR (in6_ifreq). EEXIST if the address is already there. */
export function addAddress6(ifindex: number, addr: Uint8Array, prefixLen: number): void {
  hinted(CONFIG_HINTS, () => native.addAddress6(ifindex, addr, prefixLen));
}

/** SIOCDIFADDR. EADDRNOTAVAIL if the address is not there. */
export function delAddress6(ifindex: number, addr: Uint8Array, prefixLen: number): void {
  hinted(CONFIG_HINTS, () => native.delAddress6(ifindex, addr, prefixLen));
}

/**
 * SIOCADDRT (in6_rtmsg): `dst/prefixLen` through the interface, no gateway, with an absolute
 * `metric` (0 means the kernel's 1024). EEXIST if the same route exists.
 */
export function addRoute6(ifindex: number, dst: Uint8Array, prefixLen: number, metric: number): void {
  hinted(CONFIG_HINTS, () => native.addRoute6(ifindex, dst, prefixLen, metric));
}

/** SIOCDELRT, matching dst, prefix length, metric and interface. ESRCH if there is no such route. */
export function delRoute6(ifindex: number, dst: Uint8Array, prefixLen: number, metric: number): void {
  hinted(CONFIG_HINTS, () => native.delRoute6(ifindex, dst, prefixLen, metric));
}

/** Whether this process can open /dev/net/tun (after its privilege drop, the engine must not). */
export function canOpenTunDevice(): boolean {
  try {
    closeSync(openSync('/dev/net/tun', 'r+'));
    return true;
  } catch {
    return false;
  }
}
