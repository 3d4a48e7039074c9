/**
 * The client's NAT type probe (src/teredo/nat-type.ts) on the control plane: started in the
 * background each time qualification brings up a new address, so qualification itself waits for
 * nothing; its RSs go to the server's second address (ServerAddress2, default primary + 1), its
 * answer is taken before qualification sees the datagram, the stranger test's throwaway socket
 * is opened and closed here (probe-socket.ts), and the result is logged and handed on.
 */
import type { Logger } from '../log/logger.js';
import type { TeredoConstants } from '../teredo/constants.js';
import { formatIPv4, parseIPv4 } from '../teredo/ipv4.js';
import { createNatProbe } from '../teredo/nat-type.js';
import type { Endpoint, NatProbeAction, NatType } from '../teredo/nat-type.js';
import type { TunnelOutput } from '../teredo/relay.js';
import type { SecurityContext } from '../teredo/security.js';
import type { TunnelClock, TunnelTimers } from './tunnel-clock.js';
import { probeSocketOpener } from './probe-socket.js';
import type { ProbeSocket, ProbeSocketOpener } from './probe-socket.js';

export const NAT_TYPE_MESSAGES = Object.freeze({
  detected: 'NAT type detected',
  unknown: 'No reply from the second Teredo server address: NAT type unknown',
  probeSocketFailed: 'Cannot open the NAT type probe socket',
} as const);

export interface ClientNatTypeOptions {
  readonly serverIPv4: number;
  /** ServerAddress2 as resolved by the bootstrap; null: the primary + 1. */
  readonly serverAddress2: string | null;
  readonly security: SecurityContext;
  readonly constants: TeredoConstants;
  readonly out: TunnelOutput;
  readonly clock: TunnelClock;
  readonly timers: TunnelTimers;
  readonly log: Logger;
  readonly onClassified: (natType: NatType) => void;
  /** Default: a real socket (probe-socket.ts). */
  readonly openProbeSocket?: ProbeSocketOpener;
}

export interface ClientNatType {
  /** A new address: probe again (local: where the server's RA reached us; first: our mapping). */
  start(local: Endpoint, first: Endpoint, nowMs: number): void;
  /** A datagram from the network: true when it was the probe's answer. */
  offer(packet: Uint8Array, port: number, nowMs: number): boolean;
  stop(): void;
  readonly natType: NatType;
  readonly secondaryIPv4: number;
}

/**
 * Longer than 80 lines: the probe machine, its timer and the throwaway socket are shared by the
 * action loop and the four methods; each part is short.
 */
export function createClientNatType(options: ClientNatTypeOptions): ClientNatType {
  const { clock, timers, log, out } = options;
  const named = options.serverAddress2 === null ? null : parseIPv4(options.serverAddress2);
  const secondaryIPv4 = (named ?? options.serverIPv4 + 1) >>> 0;
  const probe = createNatProbe({
    security: options.security,
    serverIPv4: options.serverIPv4,
    secondaryIPv4,
    constants: options.constants,
  });
  const openProbeSocket = options.openProbeSocket ?? probeSocketOpener();
  let timer: unknown = null;
  let socket: ProbeSocket | null = null;

  const classified = (action: Extract<NatProbeAction, { kind: 'classified' }>): void => {
    const secondary = formatIPv4(secondaryIPv4);
    if (action.second === null) log.info({ natType: action.natType, secondary }, NAT_TYPE_MESSAGES.unknown);
    else
      log.info(
        {
          natType: action.natType,
          mappedAddress: formatIPv4(action.first.ipv4),
          mappedPort: action.first.port,
          secondMappedAddress: formatIPv4(action.second.ipv4),
          secondMappedPort: action.second.port,
          ...(action.afterStranger === null
            ? {}
            : {
                strangerMappedAddress: formatIPv4(action.afterStranger.ipv4),
                strangerMappedPort: action.afterStranger.port,
              }),
          secondary,
        },
        NAT_TYPE_MESSAGES.detected,
      );
    options.onClassified(action.natType);
  };

  const open = (localIPv4: number): readonly NatProbeAction[] => {
    const opened = openProbeSocket(localIPv4, (bytes, offset, length, _ipv4, port) =>
      act(probe.offerProbeSocket(bytes, offset, length, port, clock.now())),
    );
    if (opened.socket === null) {
      log.warning({ error: opened.error }, NAT_TYPE_MESSAGES.probeSocketFailed);
      return probe.probeSocketOpened(null, clock.now());
    }
    socket = opened.socket;
    return probe.probeSocketOpened(socket.port, clock.now());
  };

  function act(actions: readonly NatProbeAction[]): void {
    for (const action of actions) {
      switch (action.kind) {
        case 'send':
          if (action.via === 'service')
            out.sendUdp(action.datagram, 0, action.datagram.length, action.ipv4, action.port);
          else socket?.send(action.datagram, action.ipv4, action.port);
          break;
        case 'open-probe-socket':
          act(open(action.localIPv4));
          break;
        case 'close-probe-socket':
          socket?.close();
          socket = null;
          break;
        case 'classified':
          classified(action);
          break;
      }
    }
    schedule();
  }

  function schedule(): void {
    if (timer !== null) timers.clearTimeout(timer);
    timer = null;
    const deadline = probe.nextDeadlineMs();
    if (!Number.isFinite(deadline)) return;
    timer = timers.setTimeout(
      () => {
        timer = null;
        act(probe.timer(clock.now()));
      },
      Math.max(0, deadline - clock.now()),
    );
  }

  return {
    start(local, first, nowMs): void {
      act(probe.start(local, first, nowMs));
    },
    offer(packet, port, nowMs): boolean {
      const actions = probe.offer(packet, 0, packet.length, port, nowMs);
      if (actions === null) return false;
      act(actions);
      return true;
    },
    stop(): void {
      if (timer !== null) timers.clearTimeout(timer);
      timer = null;
      probe.stop();
      socket?.close();
      socket = null;
    },
    get natType() {
      return probe.natType;
    },
    secondaryIPv4,
  };
}
