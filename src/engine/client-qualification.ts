/**
 * A client's qualification, driven on the control plane: the state machine (src/teredo/
 * qualification.ts) gets the server's datagrams and its timer, and its actions are carried out
 * here: RSs sent, Miredo's messages logged, and on up or down the tunnel core's identity, the
 * state the workers read, and the interface (through the helper: tunnel-interface.ts).
 */
import type { TunnelShared } from '../ipc/tunnel-shared.js';
import { decodeTeredoAddress, isConeAt } from '../teredo/address.js';
import { readU32 } from '../teredo/bytes.js';
import type { TeredoConstants } from '../teredo/constants.js';
import { formatIPv4, parseIPv4 } from '../teredo/ipv4.js';
import { formatIPv6 } from '../teredo/ipv6-text.js';
import { createQualification, QUALIFICATION_MESSAGES } from '../teredo/qualification.js';
import type { Qualification, QualificationAction, QualificationState } from '../teredo/qualification.js';
import type { TunnelCore, TunnelOutput } from '../teredo/relay.js';
import type { SecurityContext } from '../teredo/security.js';
import type { EngineConfig } from '../ipc/engine-config.js';
import type { HookPortMapping, ReplyMessage, ResolvedMessage } from '../ipc/bootstrap-engine-messages.js';
import type { ControlPlaneContext } from './control-plane.js';
import type { TunnelClock, TunnelTimers } from './tunnel-clock.js';
import { createTunnelInterface } from './tunnel-interface.js';
import { QualificationRecord } from './qualification-record.js';
import { createClientNatType } from './client-nat-type.js';
import type { ClientNatType } from './client-nat-type.js';
import { createServerFollower } from './server-follower.js';
import type { FollowedServer } from './server-follower.js';
import type { ProbeSocketOpener } from './probe-socket.js';
import type { NatType } from '../teredo/nat-type.js';

export interface ClientQualificationOptions {
  readonly config: Extract<EngineConfig, { role: 'client' }>;
  readonly context: ControlPlaneContext;
  readonly security: SecurityContext;
  readonly constants: TeredoConstants;
  readonly core: TunnelCore;
  readonly shared: TunnelShared;
  readonly out: TunnelOutput;
  readonly clock: TunnelClock;
  readonly timers: TunnelTimers;
  /** Monotonic milliseconds, with the shared coarse clock updated. */
  readonly now: () => number;
  /** Default: real sockets (probe-socket.ts). */
  readonly openProbeSocket?: ProbeSocketOpener;
  /** The port mapping on the NAT, for the hook (tunnel-interface.ts). */
  readonly portMapping?: () => HookPortMapping | null;
}

export interface ClientQualification {
  /** Publishes the inactive state and sends the first RS. */
  start(nowMs: number): void;
  /**
   * A datagram from the network, sent to our localIPv4: true when qualification (or the NAT type
   * probe) took it (from the server).
   */
  offer(packet: Uint8Array, ipv4: number, port: number, nowMs: number, localIPv4: number): boolean;
  /** A new round now; the address stays unless the server's answer changes it. */
  requalify(nowMs: number): void;
  /** The bootstrap's answer to the server name's resolution; false when not awaited. */
  resolved(message: ResolvedMessage): boolean;
  /** The helper's answer to one of the interface's requests; false when not ours. */
  reply(message: ReplyMessage): boolean;
  /** What the NAT type probe found last ('unknown' before). */
  readonly natType: NatType;
  /** No more timers; down, and the interface cleaned up within `timeoutMs`. */
  stop(timeoutMs: number): Promise<void>;
  /** The state machine's view, for miredo-ctl. */
  readonly state: QualificationState;
  /** The configured name the server in use comes from (ServerAddress or a fallback). */
  readonly server: FollowedServer | null;
  readonly record: QualificationRecord;
}

/** What the logs say about an address: Miredo prints it; we decode it too. */
function describeAddress(address: Uint8Array, mtu: number): Record<string, unknown> {
  const fields = decodeTeredoAddress(address);
  return {
    address: formatIPv6(address),
    server: formatIPv4(fields.server),
    mappedAddress: formatIPv4(fields.client),
    mappedPort: fields.port,
    cone: isConeAt(address, 0),
    mtu,
  };
}

/** The state before the server name resolves. */
const IDLE: QualificationState = Object.freeze({
  up: false,
  address: null,
  mtu: 0,
  mappedIPv4: 0,
  mappedPort: 0,
  serverIPv4: 0,
  solicitations: 0,
});

function isUp(action: QualificationAction): action is Extract<QualificationAction, { kind: 'up' }> {
  return action.kind === 'up';
}

/**
 * Longer than 80 lines: the qualification machine, its timer, the interface requests and whether
 * the tunnel is up are shared by goUp, goDown, act and the four methods; each is short.
 */
export function createClientQualification(options: ClientQualificationOptions): ClientQualification {
  const { config, context, core, shared, out, clock, timers, now } = options;
  const { log } = context;
  const ifindex = context.init.interface?.index;
  // The init schema guarantees it for a client; its absence is a programming error.
  if (ifindex === undefined) throw new Error('a client needs its tunnel interface');
  const iface = createTunnelInterface({
    ifindex,
    send: context.send,
    log,
    ...(options.portMapping === undefined ? {} : { portMapping: options.portMapping }),
  });
  /** The server in use (0 until the name resolves), its qualification machine and NAT type probe. */
  let serverIPv4 = 0;
  let qualification: Qualification | null = null;
  let natType: ClientNatType | null = null;
  const follower = createServerFollower({
    name: config.serverName,
    fallbacks: config.fallbackServers,
    initial: config.serverAddress === null ? null : parseIPv4(config.serverAddress),
    send: context.send,
    timers,
    log,
    use: (ipv4, server) => useServer(ipv4, server),
  });
  /** Where the last datagram qualification took was sent: our local IPv4 towards the server. */
  let localIPv4 = 0;
  const inactive = () => ({ active: false, prefix: 0, serverIPv4, mappedIPv4: 0, mappedPort: 0, mtu: 0 });
  let timer: unknown = null;
  let running = false;
  let up = false;
  const record = new QualificationRecord();

  /** Qualified (again, or with a new address or MTU): the core, the workers, the interface. */
  const goUp = (address: Uint8Array, mtu: number): void => {
    core.setClientIdentity({ address, serverIPv4, mtu, localIPv4, localPort: config.bindPort });
    const { mappedIPv4, mappedPort } = qualification?.state ?? IDLE;
    shared.state.publish({
      active: true,
      prefix: readU32(address, 0),
      serverIPv4,
      mappedIPv4,
      mappedPort,
      mtu,
    });
    iface.up(address, mtu);
    record.up(now());
    // Miredo's up callback says this on every change.
    log.notice('Teredo pseudo-tunnel started');
    log.info(' (address: %s, MTU: %d)', formatIPv6(address), mtu);
    up = true;
    natType?.start({ ipv4: localIPv4, port: config.bindPort }, { ipv4: mappedIPv4, port: mappedPort }, now());
  };

  /** Lost the server, or stopping: no identity, workers off, address and route removed. */
  const goDown = (): void => {
    shared.state.publish(inactive());
    iface.down();
    record.down();
    if (!up) return;
    up = false;
    core.setClientIdentity(null);
    log.notice('Teredo pseudo-tunnel stopped');
  };

  /** Carries out qualification's actions, in order, then waits for its next deadline. */
  const act = (actions: readonly QualificationAction[]): void => {
    for (const action of actions) {
      switch (action.kind) {
        case 'send':
          record.solicited(now());
          out.sendUdp(action.datagram, 0, action.datagram.length, action.ipv4, action.port);
          break;
        case 'log': {
          const next = action.message === QUALIFICATION_MESSAGES.newAddress ? actions.find(isUp) : undefined;
          if (next === undefined) log[action.level](action.message);
          else log[action.level](describeAddress(next.address, next.mtu), action.message);
          break;
        }
        case 'up':
          goUp(action.address, action.mtu);
          break;
        case 'down':
          goDown();
          break;
      }
    }
    schedule();
  };

  function schedule(): void {
    if (!running || qualification === null) return;
    if (timer !== null) timers.clearTimeout(timer);
    timer = null;
    const machine = qualification;
    const deadline = machine.nextDeadlineMs();
    if (!Number.isFinite(deadline)) return;
    timer = timers.setTimeout(
      () => {
        timer = null;
        const failed = machine.counters.roundsFailed;
        act(machine.timer(now()));
        if (machine.counters.roundsFailed !== failed) follower.roundFailed();
      },
      Math.max(0, deadline - clock.now()),
    );
  }

  /** A new server (the first, or the name moved or fails over): down if up, and qualify with it. */
  function useServer(ipv4: number, server: FollowedServer): void {
    if (ipv4 === serverIPv4 && qualification !== null) return;
    if (timer !== null) timers.clearTimeout(timer);
    timer = null;
    natType?.stop();
    if (up) goDown();
    serverIPv4 = ipv4;
    qualification = createQualification({
      security: options.security,
      serverIPv4,
      constants: options.constants,
    });
    natType = createClientNatType({
      serverIPv4,
      // ServerAddress2 is the primary's; a fallback's second address is its address + 1.
      serverAddress2: server.rank === 0 ? config.serverAddress2 : null,
      security: options.security,
      constants: options.constants,
      out,
      clock,
      timers,
      log,
      onClassified: (found) => core.setNatType(found),
      openProbeSocket: options.openProbeSocket,
    });
    shared.state.publish(inactive());
    log.info(
      { server: formatIPv4(serverIPv4), name: server.name, fallback: server.rank > 0 },
      'Qualifying with Teredo server %s',
      formatIPv4(serverIPv4),
    );
    if (running) act(qualification.start(now()));
  }

  return {
    start(nowMs: number): void {
      running = true;
      record.started(nowMs);
      shared.state.publish(inactive());
      follower.start();
    },
    offer(packet: Uint8Array, ipv4: number, port: number, nowMs: number, local: number): boolean {
      if (qualification === null || natType === null) return false;
      if (natType.offer(packet, port, nowMs)) return true;
      localIPv4 = local >>> 0;
      const accepted = qualification.counters.advertisementsAccepted;
      const actions = qualification.offer(packet, 0, packet.length, ipv4, port, nowMs);
      if (actions === null) return false;
      if (qualification.counters.advertisementsAccepted !== accepted) {
        record.answered(nowMs);
        follower.answered();
      }
      act(actions);
      return true;
    },
    requalify(nowMs: number): void {
      if (running && qualification !== null) act(qualification.requalify(nowMs));
    },
    resolved: (message) => follower.resolved(message),
    reply: (message) => iface.reply(message),
    get state(): QualificationState {
      return qualification?.state ?? IDLE;
    },
    get server(): FollowedServer | null {
      return follower.server;
    },
    record,
    get natType(): NatType {
      return natType?.natType ?? 'unknown';
    },
    async stop(timeoutMs: number): Promise<void> {
      running = false;
      follower.stop();
      natType?.stop();
      if (timer !== null) timers.clearTimeout(timer);
      timer = null;
      goDown();
      await iface.settled(timeoutMs);
    },
  };
}
