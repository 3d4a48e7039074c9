/**
 * The client's and relay's control plane, on the engine's main thread: the tunnel core
 * (src/teredo/relay.ts) for every packet the workers leave to it, the peer table's writes, a
 * 1 s tick for expiry and the shared coarse clock, a timer for the core's due sends (held-back
 * bubbles), and for a client its qualification and the interface configuration it triggers
 * through the bootstrap's helper (client-qualification.ts).
 *
 * Everything it needs (the security key included) is created before the engine's chroot, in
 * createTunnelControl() and create(); start() only starts timers and sends.
 */
import { randomBytes } from 'node:crypto';
import { errnoName } from '../os/errno.js';
import { SECURITY_KEY_BYTES, TEREDO_CONSTANTS } from '../teredo/constants.js';
import type { TeredoConstants } from '../teredo/constants.js';
import { createTunnelCore } from '../teredo/relay.js';
import type { TunnelCore, TunnelOutput } from '../teredo/relay.js';
import { createSecurityContext } from '../teredo/security.js';
import type { SecurityContext } from '../teredo/security.js';
import { TUNNEL_COUNTER, TUNNEL_COUNTER_NAMES } from '../teredo/tunnel-counters.js';
import type { EngineConfig } from '../ipc/engine-config.js';
import type { HookPortMapping, ReplyMessage, ResolvedMessage } from '../ipc/bootstrap-engine-messages.js';
import type { SlowPathMessage } from '../ipc/engine-worker-messages.js';
import { createTunnelShared } from '../ipc/tunnel-shared.js';
import type { TunnelShared } from '../ipc/tunnel-shared.js';
import { createClientQualification } from './client-qualification.js';
import type { ControlPlane, ControlPlaneContext, ControlPlaneFactory } from './control-plane.js';
import { SYSTEM_CLOCK, SYSTEM_TIMERS } from './tunnel-clock.js';
import type { TunnelClock, TunnelTimers } from './tunnel-clock.js';
import { countingOutput, createFdTunnelIo } from './tunnel-output.js';
import { listPeers } from './peer-listing.js';
import { tunnelMetricFamilies, tunnelNativePeers, tunnelStatus } from './tunnel-status.js';
import type { TunnelView } from './tunnel-status.js';
import { readUdp } from './udp-reader.js';
import type { UdpReader, UdpReaderFactory } from './udp-reader.js';
import type { ProbeSocketOpener } from './probe-socket.js';
import { formatIPv4, parseIPv4 } from '../teredo/ipv4.js';
import { readDefaultGateway } from '../os/gateway-route.js';
import { createPortMapper } from './port-mapper.js';
import type { PortMapper } from './port-mapper.js';
import type { LocalLink } from '../teredo/local-discovery.js';
import type { TunnelIo } from './tunnel-output.js';

export const TICK_INTERVAL_MS = 1000;
/**
 * How long stop() waits for the helper to confirm the interface is cleaned up: well within the
 * bootstrap's grace before SIGKILL (it removes whatever is left itself anyway).
 */
export const STOP_TIMEOUT_MS = 500;
/** Qualification waits at most this long for the port mapping (issue 14: "no more than a second"). */
export const PORT_MAPPING_WAIT_MS = 1000;

export interface TunnelControlOptions {
  readonly constants?: TeredoConstants;
  /** Default: the first worker's UDP socket and TUN queue. */
  readonly io?: (context: ControlPlaneContext) => TunnelIo;
  readonly clock?: TunnelClock;
  readonly timers?: TunnelTimers;
  /** Default: crypto.randomBytes(16) and the low 16 bits of the pid, as Miredo. */
  readonly security?: () => SecurityContext;
  /** Default: the discovery socket read on this thread (udp-reader.ts). */
  readonly discovery?: UdpReaderFactory;
  /** Default: real sockets for the NAT type probe's stranger test (probe-socket.ts). */
  readonly openProbeSocket?: ProbeSocketOpener;
  /** Default: the IPv4 default route's gateway (/proc/net/route, read before the chroot). */
  readonly gateway?: () => number | null;
}

/** The link a client's local discovery runs on, from `init` (absent: no discovery). */
function localLinkOf(context: ControlPlaneContext): LocalLink | null {
  const link = context.init.localLink;
  const ipv4 = link === undefined ? null : parseIPv4(link.address);
  return link === undefined || ipv4 === null ? null : { ipv4, prefixLength: link.prefixLength };
}

function systemSecurity(): SecurityContext {
  return createSecurityContext(randomBytes(SECURITY_KEY_BYTES), process.pid & 0xffff);
}

const secondsOf = (nowMs: number): number => Math.floor(nowMs / 1000) >>> 0;

type TunnelConfig = Exclude<EngineConfig, { role: 'server' }>;

interface Parts {
  readonly config: TunnelConfig;
  readonly context: ControlPlaneContext;
  readonly shared: TunnelShared;
  readonly options: TunnelControlOptions;
}

/**
 * Longer than 80 lines: the tunnel's control plane: the core (replaced when a relay's prefix
 * changes), the tick and the relay's published state are shared by its methods, each of them
 * short (the control socket's views are in tunnel-status.ts and peer-listing.ts); the client's qualification is in client-qualification.ts.
 */
function createControlPlane({ config, context, shared, options }: Parts): ControlPlane {
  const { log } = context;
  const constants = options.constants ?? TEREDO_CONSTANTS;
  const clock = options.clock ?? SYSTEM_CLOCK;
  const timers = options.timers ?? SYSTEM_TIMERS;
  const security = (options.security ?? systemSecurity)();
  const io = options.io?.(context) ?? defaultIo(context);
  const out: TunnelOutput = countingOutput(
    io,
    context.counters,
    TUNNEL_COUNTER['send-failed'],
    TUNNEL_COUNTER['tun-write-failed'],
  );
  const makeCore = (prefix: number): TunnelCore =>
    createTunnelCore({
      role: config.role,
      cone: config.role === 'relay' && config.relayType === 'cone',
      sharedAddress: config.role === 'relay' && config.sharedRelayAddress === true,
      prefix,
      table: shared.table,
      security,
      counters: context.counters,
      constants,
      localLink: config.role === 'client' ? localLinkOf(context) : null,
    });
  let core = makeCore(config.role === 'relay' ? config.prefix : constants.prefix);
  let relayConfig = config.role === 'relay' ? config : null;
  let tick: unknown = null;
  /** The timer of the core's next due send (sendDue), null when none is armed. */
  let due: unknown = null;
  let running = false;
  let discovery: UdpReader | null = null;

  const now = (): number => {
    const ms = clock.now();
    shared.state.setClock(secondsOf(ms));
    return ms;
  };
  const portMapper =
    config.role === 'client' ? createClientPortMapper(config, context.log, options, clock, timers) : null;
  const client =
    config.role === 'client'
      ? createClientQualification({
          config,
          context,
          security,
          constants,
          core,
          shared,
          out,
          clock,
          timers,
          now,
          openProbeSocket: options.openProbeSocket,
          portMapping: () => hookMappingOf(portMapper),
        })
      : null;

  const view = (): TunnelView => ({
    config: relayConfig ?? config,
    client,
    portMapper,
    table: shared.table,
    stats: core.stats(),
    nowMs: clock.now(),
  });

  /** Sends what the core has due and arms a timer for what it will have next. */
  const sendDue = (nowMs: number): void => {
    const wait = core.sendDue(nowMs, out);
    if (wait >= 0 && due === null) {
      due = timers.setTimeout(() => {
        due = null;
        if (running) sendDue(now());
      }, wait);
    }
  };

  const publishRelay = (): void => {
    if (relayConfig === null) return;
    shared.state.publish({
      active: true,
      prefix: relayConfig.prefix,
      serverIPv4: 0,
      mappedIPv4: 0,
      mappedPort: 0,
      mtu: relayConfig.interfaceMtu,
    });
  };

  return {
    start(): void {
      if (running) return;
      running = true;
      const startedAt = now();
      tick = timers.setInterval(() => {
        const nowMs = now();
        core.tick(nowMs);
        core.announce(nowMs, out);
        core.retestSilentRelays(nowMs, clock.wallSeconds(), out);
      }, TICK_INTERVAL_MS);
      const discoveryFd = context.init.fds.discovery;
      if (discoveryFd !== undefined) {
        discovery = (options.discovery ?? readUdp)(discoveryFd, (bytes, offset, length, ipv4, port, to) =>
          core.fromDiscovery(bytes, offset, length, ipv4, port, to, now(), out),
        );
      }
      if (client !== null) {
        // Qualification waits for the mapping (at most PORT_MAPPING_WAIT_MS): the server must see
        // our first RS leave through it, so that our Teredo address carries the mapped port.
        if (portMapper === null) client.start(startedAt);
        else portMapper.start(PORT_MAPPING_WAIT_MS, () => running && client.start(startedAt));
        return;
      }
      publishRelay();
      log.notice('Teredo pseudo-tunnel started');
    },

    slowPath(message: SlowPathMessage): void {
      shared.backlog.taken(message.workerIndex);
      const { packet } = message;
      const nowMs = now();
      if (message.from === 'tun') {
        core.fromTun(packet, 0, packet.length, nowMs, clock.wallSeconds(), out);
        sendDue(nowMs);
        return;
      }
      if (client?.offer(packet, message.address, message.port, nowMs, message.localAddress) === true) return;
      core.fromUdp(packet, 0, packet.length, message.address, message.port, nowMs, clock.wallSeconds(), out);
    },

    state: () => (client === null ? {} : { natType: client.natType }),

    resolved(message: ResolvedMessage): void {
      if (client?.resolved(message) !== true) log.debug({ id: message.id }, 'Unexpected resolution answer');
    },

    reply(message: ReplyMessage): void {
      if (client?.reply(message) !== true) log.debug({ id: message.id }, 'Unexpected helper reply');
    },

    reconfigure(next: EngineConfig): void {
      if (relayConfig === null || next.role !== 'relay') return;
      if (next.prefix !== relayConfig.prefix) {
        // The core's prefix is fixed: a new core, and no peer survives (they were under the old prefix).
        shared.table.reset();
        core = makeCore(next.prefix);
      }
      relayConfig = next;
      if (running) publishRelay();
    },

    requalify(reason): void {
      if (client === null || !running) return;
      log.info({ reason }, 'Qualifying again with the Teredo server');
      client.requalify(now());
    },

    async stop(): Promise<void> {
      if (!running) return;
      running = false;
      if (tick !== null) timers.clearInterval(tick);
      tick = null;
      discovery?.stop();
      discovery = null;
      if (due !== null) timers.clearTimeout(due);
      due = null;
      if (client !== null) {
        await client.stop(STOP_TIMEOUT_MS);
        await portMapper?.stop();
        return;
      }
      log.notice('Teredo pseudo-tunnel stopped');
    },

    status: () => tunnelStatus(view()),
    nativePeers: (limit) => tunnelNativePeers(view(), limit),
    peers: (filter, limit) => listPeers(shared.table, { filter, limit, nowSeconds: secondsOf(clock.now()) }),
    metricFamilies: () => tunnelMetricFamilies(view()),
  };
}

/** The mapping as the client hook is told of it (PORT_MAPPING_*), or null. */
function hookMappingOf(portMapper: PortMapper | null): HookPortMapping | null {
  const status = portMapper?.status() ?? null;
  if (status === null) return null;
  const { protocol, externalAddress, externalPort, lifetime } = status;
  return { protocol, externalAddress, externalPort, lifetime };
}

/** A client's port mapper, unless PortMapping is off or there is no default gateway to ask. */
function createClientPortMapper(
  config: Extract<TunnelConfig, { role: 'client' }>,
  log: ControlPlaneContext['log'],
  options: TunnelControlOptions,
  clock: TunnelClock,
  timers: TunnelTimers,
): PortMapper | null {
  if (config.portMapping === 'off') return null;
  const gateway = (options.gateway ?? readDefaultGateway)();
  if (gateway === null) {
    log.info('No port mapping: no IPv4 default gateway');
    return null;
  }
  return createPortMapper({
    mode: config.portMapping,
    target: { gateway: formatIPv4(gateway) },
    internalPort: config.bindPort,
    lifetimeSeconds: config.portMappingLifetime,
    clock,
    timers,
    log,
  });
}

function defaultIo(context: ControlPlaneContext): TunnelIo {
  const udp = context.init.fds.udp[0];
  const tun = context.init.fds.tun[0];
  if (udp === undefined || tun === undefined) throw new Error('a tunnel needs a UDP socket and a TUN queue');
  return createFdTunnelIo(udp, tun);
}

export function createTunnelControl(
  config: EngineConfig,
  options: TunnelControlOptions = {},
): ControlPlaneFactory {
  if (config.role === 'server') throw new Error('a server has no tunnel control plane');
  const shared = createTunnelShared(config.peerTableCapacity);
  return {
    counterNames: TUNNEL_COUNTER_NAMES,
    shared: shared.buffer,
    create: (context) => {
      const advice = shared.hugePages;
      context.log.debug(
        {
          bytes: shared.buffer.byteLength,
          capacity: shared.table.capacity,
          hugePages: advice.ok ? advice.bytes : `refused (${errnoName(advice.errno)})`,
        },
        'Peer table allocated',
      );
      return createControlPlane({ config, context, shared, options });
    },
  };
}
