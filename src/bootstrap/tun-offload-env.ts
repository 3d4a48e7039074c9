/**
 * Whether the bootstrap opens the TUN device with offloads (src/os/tun.ts, TUN_OFFLOADS_WANTED):
 * MIREDO_TS_TUN_OFFLOAD=yes (or 1, on, true) turns them on, no (0, off, false) off. MIREDO_TS_TUN_OFFLOAD_REFUSE, for tests,
 * makes the addon treat some as refused by the kernel: `uso` (UDP segmentation), `tso` (TCP
 * segmentation: no offload is left worth a virtio header) or `all`.
 */
import { TUN_F_CSUM, TUN_F_TSO6, TUN_F_USO6, TUN_OFFLOADS_WANTED } from '../os/tun.js';
import type { TunOffloadOptions } from '../os/tun.js';

export const TUN_OFFLOAD_ENV = 'MIREDO_TS_TUN_OFFLOAD';
export const TUN_OFFLOAD_REFUSE_ENV = 'MIREDO_TS_TUN_OFFLOAD_REFUSE';
/**
 * Off unless turned on: they cut the relay's CPU per byte and raised TCP throughput towards our
 * client, but their bursts cost more than they saved towards Debian's client (README "Benchmarks").
 */
export const TUN_OFFLOAD_DEFAULT = false;

const OFF = new Set(['no', '0', 'off', 'false']);
const ON = new Set(['yes', '1', 'on', 'true']);
const REFUSE: Readonly<Record<string, number>> = { uso: TUN_F_USO6, tso: TUN_F_TSO6, all: TUN_F_CSUM };

export function tunOffloadOptions(env: NodeJS.ProcessEnv): TunOffloadOptions {
  const setting = env[TUN_OFFLOAD_ENV]?.trim().toLowerCase() ?? '';
  const on = OFF.has(setting) ? false : ON.has(setting) ? true : TUN_OFFLOAD_DEFAULT;
  const refuse = REFUSE[env[TUN_OFFLOAD_REFUSE_ENV]?.trim().toLowerCase() ?? ''] ?? 0;
  return { offloads: on ? TUN_OFFLOADS_WANTED : 0, refuse };
}
