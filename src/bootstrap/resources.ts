/**
 * The kernel resources the bootstrap opens for the engine, by role:
 *   relay  - TUN (one queue per worker) configured statically as Miredo does: MTU, up,
 *            fe80::ffff:ffff:ffff/64, <Prefix>::/32 metric 1024; UDP sockets (SO_REUSEPORT);
 *   client - TUN left down (the engine configures it through the helper); UDP sockets;
 *   server - UDP sockets on ServerBindAddress:3544 and ServerBindAddress2:3544, raw IPv6 socket.
 */
import type { Logger } from '../log/logger.js';
import { clientLinkLocal } from '../teredo/address.js';
import { TEREDO_CONSTANTS, TEREDO_ROUTE_METRIC } from '../teredo/constants.js';
import { formatIPv6 } from '../teredo/ipv6-text.js';
import { errnoText } from './errno-text.js';
import { BARE_BASELINE } from './helper.js';
import type { AddressEntry, RouteEntry, TunnelBaseline } from './helper.js';
import { prefixToBytes } from '../ipc/ipv6-value.js';
import type { OsApi } from './os-api.js';
import type { DaemonSettings } from '../config/settings-schema.js';
import type { TunnelInterface } from './tun-control.js';

/**
 * Receive buffer of every UDP socket (set with SO_RCVBUFFORCE by root): a burst that arrives
 * while a worker is busy waits in the kernel instead of being dropped (the default, ~200 KB,
 * overflows first under load, as measured with `npm run bench`).
 */
export const UDP_RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024;

export interface KernelResources {
  readonly tunnel: TunnelInterface | null;
  readonly tunFds: readonly number[];
  readonly udpFds: readonly number[];
  readonly rawFd: number | null;
  /** The UDP port actually bound (BindPort 0 lets the kernel choose); null for a server. */
  readonly boundPort: number | null;
  /** The tunnel as the bootstrap configured it. */
  readonly baseline: TunnelBaseline;
}

export type OpenResult =
  | { readonly ok: true; readonly resources: KernelResources }
  | { readonly ok: false; readonly message: string };

/** fe80::ffff:ffff:ffff/64, as Miredo's relay. */
export function relayLinkLocal(): AddressEntry {
  return { address: clientLinkLocal(false), prefixLen: 64 };
}

export function prefixRoute(prefix: number): RouteEntry {
  return { dst: prefixToBytes(prefix), prefixLen: 32, metric: TEREDO_ROUTE_METRIC.prefixRoute };
}

export function relayBaseline(mtu: number, prefix: number): TunnelBaseline {
  return { up: true, mtu, addresses: [relayLinkLocal()], routes: [prefixRoute(prefix)] };
}

class OpenFailure extends Error {}

/** Opens everything for `settings`; on failure closes whatever it had opened. */
export async function openResources(
  settings: DaemonSettings,
  poolSize: number,
  os: OsApi,
): Promise<OpenResult> {
  const fds: number[] = [];
  const step = async <T>(what: string, operation: () => T | Promise<T>): Promise<T> => {
    try {
      return await operation();
    } catch (error) {
      // The os layer's messages carry the errno name and a hint (missing CONFIG_TUN, EBUSY, ...).
      throw new OpenFailure(`${what}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  try {
    if (settings.role === 'server') {
      const primary = await step(`Error (${settings.serverBindAddress})`, () =>
        os.openUdp4(settings.serverBindAddress, TEREDO_CONSTANTS.port, {
          reusePort: false,
          receiveBufferBytes: UDP_RECEIVE_BUFFER_BYTES,
        }),
      );
      fds.push(primary);
      const secondary = await step(`Error (${settings.serverBindAddress2})`, () =>
        os.openUdp4(settings.serverBindAddress2, TEREDO_CONSTANTS.port, {
          reusePort: false,
          receiveBufferBytes: UDP_RECEIVE_BUFFER_BYTES,
        }),
      );
      fds.push(secondary);
      const raw = await step('Cannot open the raw IPv6 socket', () => os.openRaw6());
      fds.push(raw);
      return {
        ok: true,
        resources: {
          tunnel: null,
          tunFds: [],
          udpFds: [primary, secondary],
          rawFd: raw,
          boundPort: null,
          baseline: BARE_BASELINE,
        },
      };
    }

    const tun = await step('Cannot create the tunnel interface', () =>
      os.openTun(settings.interfaceName, poolSize),
    );
    fds.push(...tun.fds);
    const tunnel = { name: tun.name, index: tun.ifindex };
    let baseline = BARE_BASELINE;
    if (settings.role === 'relay') {
      baseline = relayBaseline(settings.interfaceMtu, settings.prefix);
      const [linkLocal] = baseline.addresses;
      const [route] = baseline.routes;
      await step(`Cannot set MTU ${settings.interfaceMtu} on ${tun.name}`, () =>
        os.setMtu(tun.name, settings.interfaceMtu),
      );
      await step(`Cannot bring ${tun.name} up`, () => os.setLinkUp(tun.name, true));
      if (linkLocal !== undefined) {
        await step(`Cannot add ${formatIPv6(linkLocal.address)}/64 to ${tun.name}`, () =>
          os.addAddress6(tun.ifindex, linkLocal.address, linkLocal.prefixLen),
        );
      }
      if (route !== undefined) {
        await step(`Cannot add the Teredo prefix route to ${tun.name}`, () =>
          os.addRoute6(tun.ifindex, route.dst, route.prefixLen, route.metric),
        );
      }
    }

    const udpFds: number[] = [];
    let port = settings.bindPort;
    for (let i = 0; i < poolSize; i += 1) {
      const fd = await step(`Error (${settings.bindAddress}:${port})`, () =>
        os.openUdp4(settings.bindAddress, port, {
          reusePort: true,
          receiveBufferBytes: UDP_RECEIVE_BUFFER_BYTES,
        }),
      );
      fds.push(fd);
      udpFds.push(fd);
      // The other workers' sockets share the port the kernel chose for the first.
      if (i === 0) port = os.localPort(fd);
    }
    return {
      ok: true,
      resources: { tunnel, tunFds: tun.fds, udpFds, rawFd: null, boundPort: port, baseline },
    };
  } catch (error) {
    for (const fd of fds) {
      try {
        os.closeFd(fd);
      } catch {
        // Already failing; the original error is the one to report.
      }
    }
    return { ok: false, message: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * Removes the static configuration and closes every descriptor; closing the last TUN queue
 * deletes the interface. The engine must be gone (it holds copies of the descriptors).
 */
export async function closeResources(
  resources: KernelResources,
  baseline: TunnelBaseline,
  os: OsApi,
  log: Logger,
): Promise<void> {
  const attempt = async (what: string, operation: () => void | Promise<void>): Promise<void> => {
    try {
      await operation();
    } catch (error) {
      log.warning('Cannot %s: %s', what, errnoText(error));
    }
  };
  const tunnel = resources.tunnel;
  if (tunnel !== null) {
    for (const route of baseline.routes) {
      await attempt('remove the Teredo prefix route', () =>
        os.delRoute6(tunnel.index, route.dst, route.prefixLen, route.metric),
      );
    }
    for (const entry of baseline.addresses) {
      await attempt('remove the link-local address', () =>
        os.delAddress6(tunnel.index, entry.address, entry.prefixLen),
      );
    }
  }
  const all = [
    ...resources.tunFds,
    ...resources.udpFds,
    ...(resources.rawFd === null ? [] : [resources.rawFd]),
  ];
  for (const fd of all) await attempt(`close descriptor ${fd}`, () => os.closeFd(fd));
}
