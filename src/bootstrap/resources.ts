/**
 * The kernel resources the bootstrap opens for the engine, by role:
 *   relay  - TUN (one queue per worker) configured statically as Miredo does: MTU, up,
 *            fe80::ffff:ffff:ffff/64, <Prefix>::/32 metric 1024; UDP sockets (SO_REUSEPORT);
 *   client - TUN left down (the engine configures it through the helper); UDP sockets; with
 *            LocalDiscovery, local discovery's socket (discovery-socket.ts);
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
import type { OpenedTun, OsApi } from './os-api.js';
import type { DaemonSettings } from '../config/settings-schema.js';
import type { TunnelInterface } from './tun-control.js';
import { openDiscovery } from './discovery-socket.js';
import type { DiscoveryResource } from './discovery-socket.js';

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
  /** The listening metrics socket (MetricsListen), or null. */
  readonly metricsFd: number | null;
  /** The UDP port actually bound (BindPort 0 lets the kernel choose); null for a server. */
  readonly boundPort: number | null;
  /** The tunnel as the bootstrap configured it. */
  readonly baseline: TunnelBaseline;
  /** Client with LocalDiscovery: the discovery socket and its link; null without. */
  readonly discovery: DiscoveryResource | null;
  /** Why a client with LocalDiscovery runs without it (no route to its server, ...), for the log. */
  readonly discoveryProblem: string | null;
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

/** Runs one opening step; a failure becomes an OpenFailure saying `what` failed. */
async function step<T>(what: string, operation: () => T | Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    // The os layer's messages carry the errno name and a hint (missing CONFIG_TUN, EBUSY, ...).
    throw new OpenFailure(`${what}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

type ServerSettings = Extract<DaemonSettings, { role: 'server' }>;
type TunnelSettings = Exclude<DaemonSettings, { role: 'server' }>;

/** The server's two UDP sockets on port 3544 and its raw IPv6 socket; each fd into `fds` once open. */
async function openServer(settings: ServerSettings, os: OsApi, fds: number[]): Promise<KernelResources> {
  const udpFds: number[] = [];
  for (const address of [settings.serverBindAddress, settings.serverBindAddress2]) {
    const fd = await step(`Error (${address})`, () =>
      os.openUdp4(address, TEREDO_CONSTANTS.port, {
        reusePort: false,
        receiveBufferBytes: UDP_RECEIVE_BUFFER_BYTES,
      }),
    );
    fds.push(fd);
    udpFds.push(fd);
  }
  const raw = await step('Cannot open the raw IPv6 socket', () => os.openRaw6());
  fds.push(raw);
  return {
    tunnel: null,
    tunFds: [],
    udpFds,
    rawFd: raw,
    metricsFd: null,
    boundPort: null,
    baseline: BARE_BASELINE,
    discovery: null,
    discoveryProblem: null,
  };
}

/** A relay's static tunnel, as Miredo sets it: MTU, up, the link-local, the prefix route. */
async function configureRelayTunnel(
  settings: Extract<DaemonSettings, { role: 'relay' }>,
  tun: OpenedTun,
  os: OsApi,
): Promise<TunnelBaseline> {
  const baseline = relayBaseline(settings.interfaceMtu, settings.prefix);
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
  return baseline;
}

/** The client's or relay's TUN queues and UDP sockets, one of each per worker; fds into `fds`. */
async function openTunnel(
  settings: TunnelSettings,
  poolSize: number,
  os: OsApi,
  fds: number[],
): Promise<KernelResources> {
  const tun = await step('Cannot create the tunnel interface', () =>
    os.openTun(settings.interfaceName, poolSize),
  );
  fds.push(...tun.fds);
  const baseline = settings.role === 'relay' ? await configureRelayTunnel(settings, tun, os) : BARE_BASELINE;
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
  const tunnel = { name: tun.name, index: tun.ifindex };
  const opened =
    settings.role === 'client' && settings.localDiscovery
      ? await openDiscovery(settings, udpFds, os)
      : { discovery: null, problem: null };
  if (opened.discovery !== null) fds.push(opened.discovery.fd);
  return {
    tunnel,
    tunFds: tun.fds,
    udpFds,
    rawFd: null,
    metricsFd: null,
    boundPort: port,
    baseline,
    discovery: opened.discovery,
    discoveryProblem: opened.problem,
  };
}

/** Opens everything for `settings`; on failure closes whatever it had opened. */
export async function openResources(
  settings: DaemonSettings,
  poolSize: number,
  os: OsApi,
): Promise<OpenResult> {
  const fds: number[] = [];
  try {
    const resources =
      settings.role === 'server'
        ? await openServer(settings, os, fds)
        : await openTunnel(settings, poolSize, os, fds);
    const listen = settings.metricsListen;
    if (listen === undefined) return { ok: true, resources };
    const metricsFd = await step(`MetricsListen ${listen.address} port ${listen.port}`, () =>
      os.openTcpListener(listen.address, listen.port),
    );
    fds.push(metricsFd);
    return { ok: true, resources: { ...resources, metricsFd } };
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
    ...(resources.metricsFd === null ? [] : [resources.metricsFd]),
    ...(resources.discovery === null ? [] : [resources.discovery.fd]),
  ];
  for (const fd of all) await attempt(`close descriptor ${fd}`, () => os.closeFd(fd));
}
