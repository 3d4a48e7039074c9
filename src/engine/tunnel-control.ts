/**
 * The client's and relay's control plane, on the engine's main thread: the tunnel core
 * (src/teredo/relay.ts) for every packet the workers leave to it, the peer table's writes, a
 * 1 s tick for expiry and the shared coarse clock, and for a client the qualification machine
 * and the interface configuration it triggers through the bootstrap's helper.
 *
 * Everything it needs (the security key included) is created before the engine's chroot, in
 * createTunnelControl() and create(); start() only starts timers and sends.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../log/logger.js';
import { errnoName } from '../os/errno.js';
import { decodeTeredoAddress } from '../teredo/address.js';
import { readU32 } from '../teredo/bytes.js';
import { TEREDO_CONSTANTS } from '../teredo/constants.js';
import type { TeredoConstants } from '../teredo/constants.js';
import { formatIPv4, parseIPv4 } from '../teredo/ipv4.js';
import { formatIPv6 } from '../teredo/ipv6-text.js';
import { createQualification, QUALIFICATION_MESSAGES } from '../teredo/qualification.js';
import type { Qualification, QualificationAction } from '../teredo/qualification.js';
import { createTunnelCore } from '../teredo/relay.js';
import type { TunnelCore, TunnelOutput } from '../teredo/relay.js';
import { createSecurityContext } from '../teredo/security.js';
import { SECURITY_KEY_BYTES } from '../teredo/constants.js';
import type { SecurityContext } from '../teredo/security.js';
import { TUNNEL_COUNTER, TUNNEL_COUNTER_NAMES } from '../teredo/tunnel-counters.js';
import type { ControlPlane, ControlPlaneContext, ControlPlaneFactory } from './control-plane.js';
import type { EngineConfig } from '../ipc/engine-config.js';
import type { ReplyMessage } from '../ipc/bootstrap-engine-messages.js';
import type { SlowPathMessage } from '../ipc/engine-worker-messages.js';
import { createTunnelInterface } from './tunnel-interface.js';
import type { TunnelInterface } from './tunnel-interface.js';
import { countingOutput, createFdTunnelIo } from './tunnel-output.js';
import type { TunnelIo } from './tunnel-output.js';
import { createTunnelShared } from '../ipc/tunnel-shared.js';
import type { TunnelShared } from '../ipc/tunnel-shared.js';

export const TICK_INTERVAL_MS = 1000;
/**
 * How long stop() waits for the helper to confirm the interface is cleaned up: well within the
 * bootstrap's grace before SIGKILL (it removes whatever is left itself anyway).
 */
export const STOP_TIMEOUT_MS = 500;

export interface TunnelClock {
  /** Monotonic milliseconds. */
  now(): number;
  /** Math.floor(Date.now() / 1000): ping authenticators use the wall clock. */
  wallSeconds(): number;
}

export interface TunnelTimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  setInterval(callback: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

export interface TunnelControlOptions {
  readonly constants?: TeredoConstants;
  /** Default: the first worker's UDP socket and TUN queue. */
  readonly io?: (context: ControlPlaneContext) => TunnelIo;
  readonly clock?: TunnelClock;
  readonly timers?: TunnelTimers;
  /** Default: crypto.randomBytes(16) and the low 16 bits of the pid, as Miredo. */
  readonly security?: () => SecurityContext;
}

const SYSTEM_CLOCK: TunnelClock = {
  now: () => performance.now(),
  wallSeconds: () => Math.floor(Date.now() / 1000),
};

const SYSTEM_TIMERS: TunnelTimers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
  setInterval: (callback, ms) => setInterval(callback, ms),
  clearInterval: (handle) => clearInterval(handle as NodeJS.Timeout),
};

function systemSecurity(): SecurityContext {
  return createSecurityContext(randomBytes(SECURITY_KEY_BYTES), process.pid & 0xffff);
}

const secondsOf = (nowMs: number): number => Math.floor(nowMs / 1000) >>> 0;

type TunnelConfig = Exclude<EngineConfig, { role: 'server' }>;

/** What the logs say about an address: Miredo prints it; we decode it too. */
function describeAddress(address: Uint8Array, mtu: number): Record<string, unknown> {
  const fields = decodeTeredoAddress(address);
  return {
    address: formatIPv6(address),
    server: formatIPv4(fields.server),
    mappedAddress: formatIPv4(fields.client),
    mappedPort: fields.port,
    cone: (fields.flags & TEREDO_CONSTANTS.coneFlag) !== 0,
    mtu,
  };
}

interface Parts {
  readonly config: TunnelConfig;
  readonly context: ControlPlaneContext;
  readonly shared: TunnelShared;
  readonly options: TunnelControlOptions;
}

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
      prefix,
      table: shared.table,
      security,
      counters: context.counters,
      constants,
    });
  let core = makeCore(config.role === 'relay' ? config.prefix : constants.prefix);
  let relayConfig = config.role === 'relay' ? config : null;

  const client = config.role === 'client' ? clientParts(config, context, security, constants, log) : null;

  let tick: unknown = null;
  let qualificationTimer: unknown = null;
  let running = false;

  const now = (): number => {
    const ms = clock.now();
    shared.state.setClock(secondsOf(ms));
    return ms;
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

  let clientUp = false;

  /** Qualified (again, or with a new address or MTU): the core, the workers, the interface. */
  const goUp = (parts: ClientParts, address: Uint8Array, mtu: number): void => {
    core.setClientIdentity({ address, serverIPv4: parts.serverIPv4, mtu });
    const { mappedIPv4, mappedPort } = parts.qualification.state;
    shared.state.publish({
      active: true,
      prefix: readU32(address, 0),
      serverIPv4: parts.serverIPv4,
      mappedIPv4,
      mappedPort,
      mtu,
    });
    parts.iface.up(address, mtu);
    // Miredo's up callback says this on every change.
    log.notice('Teredo pseudo-tunnel started');
    log.info(' (address: %s, MTU: %d)', formatIPv6(address), mtu);
    clientUp = true;
  };

  /** Lost the server, or stopping: no identity, workers off, address and route removed. */
  const goDown = (parts: ClientParts): void => {
    const inactive = { active: false, prefix: 0, mappedIPv4: 0, mappedPort: 0, mtu: 0 };
    shared.state.publish({ ...inactive, serverIPv4: parts.serverIPv4 });
    parts.iface.down();
    if (!clientUp) return;
    clientUp = false;
    core.setClientIdentity(null);
    log.notice('Teredo pseudo-tunnel stopped');
  };

  /** Carries out qualification's actions, in order. */
  const act = (actions: readonly QualificationAction[]): void => {
    if (client === null) return;
    for (const action of actions) {
      switch (action.kind) {
        case 'send':
          out.sendUdp(action.datagram, 0, action.datagram.length, action.ipv4, action.port);
          break;
        case 'log': {
          const up = action.message === QUALIFICATION_MESSAGES.newAddress ? actions.find(isUp) : undefined;
          if (up === undefined) log[action.level](action.message);
          else log[action.level](describeAddress(up.address, up.mtu), action.message);
          break;
        }
        case 'up':
          goUp(client, action.address, action.mtu);
          break;
        case 'down':
          goDown(client);
          break;
      }
    }
    scheduleQualification();
  };

  function scheduleQualification(): void {
    if (client === null || !running) return;
    if (qualificationTimer !== null) timers.clearTimeout(qualificationTimer);
    qualificationTimer = null;
    const deadline = client.qualification.nextDeadlineMs();
    if (!Number.isFinite(deadline)) return;
    qualificationTimer = timers.setTimeout(
      () => {
        qualificationTimer = null;
        act(client.qualification.timer(now()));
      },
      Math.max(0, deadline - clock.now()),
    );
  }

  return {
    start(): void {
      if (running) return;
      running = true;
      const startedAt = now();
      tick = timers.setInterval(() => core.tick(now()), TICK_INTERVAL_MS);
      if (client === null) {
        publishRelay();
        log.notice('Teredo pseudo-tunnel started');
        return;
      }
      shared.state.publish({
        active: false,
        prefix: 0,
        serverIPv4: client.serverIPv4,
        mappedIPv4: 0,
        mappedPort: 0,
        mtu: 0,
      });
      act(client.qualification.start(startedAt));
    },

    slowPath(message: SlowPathMessage): void {
      shared.backlog.taken(message.workerIndex);
      const { packet } = message;
      const nowMs = now();
      if (message.from === 'tun') {
        core.fromTun(packet, 0, packet.length, nowMs, clock.wallSeconds(), out);
        return;
      }
      if (client !== null) {
        const actions = client.qualification.offer(
          packet,
          0,
          packet.length,
          message.address,
          message.port,
          nowMs,
        );
        if (actions !== null) {
          act(actions);
          return;
        }
      }
      core.fromUdp(packet, 0, packet.length, message.address, message.port, nowMs, clock.wallSeconds(), out);
    },

    reply(message: ReplyMessage): void {
      if (client?.iface.reply(message) !== true) log.debug({ id: message.id }, 'Unexpected helper reply');
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

    async stop(): Promise<void> {
      if (!running) return;
      running = false;
      if (tick !== null) timers.clearInterval(tick);
      if (qualificationTimer !== null) timers.clearTimeout(qualificationTimer);
      tick = null;
      qualificationTimer = null;
      if (client === null) {
        log.notice('Teredo pseudo-tunnel stopped');
        return;
      }
      goDown(client);
      await client.iface.settled(STOP_TIMEOUT_MS);
    },
  };
}

function isUp(action: QualificationAction): action is Extract<QualificationAction, { kind: 'up' }> {
  return action.kind === 'up';
}

interface ClientParts {
  readonly serverIPv4: number;
  readonly qualification: Qualification;
  readonly iface: TunnelInterface;
}

function clientParts(
  config: Extract<EngineConfig, { role: 'client' }>,
  context: ControlPlaneContext,
  security: SecurityContext,
  constants: TeredoConstants,
  log: Logger,
): ClientParts {
  const serverIPv4 = parseIPv4(config.serverAddress);
  const ifindex = context.init.interface?.index;
  // The init schema guarantees both for a client; their absence is a programming error.
  if (serverIPv4 === null) throw new Error(`invalid server address ${config.serverAddress}`);
  if (ifindex === undefined) throw new Error('a client needs its tunnel interface');
  return {
    serverIPv4,
    qualification: createQualification({ security, serverIPv4, constants }),
    iface: createTunnelInterface({ ifindex, send: context.send, log }),
  };
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
