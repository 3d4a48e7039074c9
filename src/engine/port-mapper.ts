/**
 * The client's port mapping on its NAT (issue 14): at start, each protocol in turn (PCP, NAT-PMP,
 * UPnP IGD, or the one PortMapping names) asks the LAN gateway to map the Teredo UDP port; the
 * first that answers keeps it, renews it at half its lifetime (which also recreates it after the
 * gateway restarted with an empty table; PCP and NAT-PMP say so by their epoch), and deletes it
 * on stop. Qualification waits for this at most `waitMs`, and not at all once every protocol has
 * failed: a gateway without any of them refuses at once (ICMP port unreachable) or stays silent.
 */
import type { Logger } from '../log/logger.js';
import { epochLost, PORT_MAPPING_PROTOCOLS } from '../teredo/port-mapping.js';
import type { PortMapping, PortMappingProtocol } from '../teredo/port-mapping.js';
import { describeMapping, protocolClient } from './port-mapping-clients.js';
import type { GatewayTarget, ProtocolClient } from './port-mapping-clients.js';
import type { TunnelClock, TunnelTimers } from './tunnel-clock.js';

export const PORT_MAPPING_MESSAGES = Object.freeze({
  created: 'Port mapping created',
  renewed: 'Port mapping renewed',
  recreated: 'Port mapping recreated: the gateway had lost it',
  none: 'No port mapping: the gateway offers none',
  renewalFailed: 'Port mapping renewal failed',
  lost: 'Port mapping lost',
  removed: 'Port mapping removed',
} as const);

/** At most this long between renewal attempts once one failed, and between tries after a loss. */
const RETRY_MS = 10_000;
/** How long stop() waits for the gateway to confirm the deletion. */
export const UNMAP_TIMEOUT_MS = 1000;

export interface PortMapperOptions {
  /** 'auto': PCP, then NAT-PMP, then UPnP IGD. */
  readonly mode: 'auto' | PortMappingProtocol;
  readonly target: GatewayTarget;
  readonly internalPort: number;
  readonly lifetimeSeconds: number;
  readonly clock: TunnelClock;
  readonly timers: TunnelTimers;
  readonly log: Logger;
  /** Default: the real clients (port-mapping-clients.ts). */
  readonly client?: (protocol: PortMappingProtocol, target: GatewayTarget) => ProtocolClient;
  readonly onChange?: (mapping: PortMapping | null) => void;
}

export interface PortMappingStatus {
  readonly protocol: PortMappingProtocol;
  readonly externalAddress: string | null;
  readonly externalPort: number;
  readonly internalPort: number;
  readonly lifetime: number;
  readonly expiresInSeconds: number;
}

export interface PortMapper {
  /** Starts mapping; `settled` runs once: at the first mapping, when every protocol failed, or after `waitMs`. */
  start(waitMs: number, settled: () => void): void;
  /** No more timers; the mapping deleted (waits for the gateway at most UNMAP_TIMEOUT_MS). */
  stop(): Promise<void>;
  readonly mapping: PortMapping | null;
  status(): PortMappingStatus | null;
}

/**
 * Longer than 80 lines: the mapping, its timer and the protocol that made it are shared by the
 * first attempt, the renewals and stop(); each is short.
 */
export function createPortMapper(options: PortMapperOptions): PortMapper {
  const { clock, timers, log, internalPort, lifetimeSeconds } = options;
  const makeClient = options.client ?? protocolClient;
  const protocols = options.mode === 'auto' ? PORT_MAPPING_PROTOCOLS : [options.mode];
  let running = false;
  let timer: unknown = null;
  let client: ProtocolClient | null = null;
  let mapping: PortMapping | null = null;
  let mappedAtMs = 0;
  let pending: Promise<unknown> = Promise.resolve();

  const expiresAtMs = (): number => mappedAtMs + (mapping?.lifetimeSeconds ?? 0) * 1000;
  const arm = (ms: number, what: () => Promise<void>): void => {
    if (!running) return;
    if (timer !== null) timers.clearTimeout(timer);
    timer = timers.setTimeout(
      () => {
        timer = null;
        pending = what();
      },
      Math.max(0, ms),
    );
  };

  const keep = (next: PortMapping, message: string, level: 'notice' | 'debug'): void => {
    const changed =
      mapping === null ||
      mapping.externalPort !== next.externalPort ||
      mapping.externalIPv4 !== next.externalIPv4;
    mapping = next;
    mappedAtMs = clock.now();
    log[level](describeMapping(next), message);
    if (changed) options.onChange?.(next);
    arm(Math.max(1000, (next.lifetimeSeconds * 1000) / 2), renew);
  };

  async function renew(): Promise<void> {
    if (client === null || mapping === null || !running) return;
    const before = mapping;
    const beforeAt = mappedAtMs;
    const outcome = await client.map(internalPort, lifetimeSeconds);
    if (!running) return;
    if (outcome.ok) {
      const lost =
        before.epoch !== null &&
        outcome.mapping.epoch !== null &&
        epochLost(before.epoch, beforeAt, outcome.mapping.epoch, clock.now());
      keep(
        outcome.mapping,
        lost ? PORT_MAPPING_MESSAGES.recreated : PORT_MAPPING_MESSAGES.renewed,
        lost ? 'notice' : 'debug',
      );
      return;
    }
    const remaining = expiresAtMs() - clock.now();
    if (remaining > 0) {
      log.warning({ protocol: before.protocol, reason: outcome.reason }, PORT_MAPPING_MESSAGES.renewalFailed);
      arm(Math.min(RETRY_MS, remaining / 2), renew);
      return;
    }
    log.warning({ protocol: before.protocol, reason: outcome.reason }, PORT_MAPPING_MESSAGES.lost);
    mapping = null;
    options.onChange?.(null);
    // Keep asking the same protocol: a gateway that restarts comes back with an empty table.
    arm(RETRY_MS, renewLost);
  }

  async function renewLost(): Promise<void> {
    const again = await client?.map(internalPort, lifetimeSeconds);
    if (!running || again === undefined) return;
    if (again.ok) keep(again.mapping, PORT_MAPPING_MESSAGES.created, 'notice');
    else arm(RETRY_MS, renewLost);
  }

  async function first(settle: () => void): Promise<void> {
    const reasons: Record<string, string> = {};
    for (const protocol of protocols) {
      const candidate = makeClient(protocol, options.target);
      const outcome = await candidate.map(internalPort, lifetimeSeconds);
      if (outcome.ok) {
        client = candidate;
        // Stopped meanwhile: kept only for stop() to delete it.
        mapping = outcome.mapping;
        if (!running) return;
        mapping = null;
        keep(outcome.mapping, PORT_MAPPING_MESSAGES.created, 'notice');
        settle();
        return;
      }
      if (!running) return;
      reasons[protocol] = outcome.reason;
    }
    log.info({ gateway: options.target.gateway, ...reasons }, PORT_MAPPING_MESSAGES.none);
    settle();
  }

  return {
    start(waitMs, settled): void {
      if (running) return;
      running = true;
      let done = false;
      const settle = (): void => {
        if (done) return;
        done = true;
        timers.clearTimeout(wait);
        settled();
      };
      const wait = timers.setTimeout(settle, waitMs);
      pending = first(settle);
    },
    async stop(): Promise<void> {
      if (!running) return;
      running = false;
      if (timer !== null) timers.clearTimeout(timer);
      timer = null;
      const deadline = (): Promise<void> =>
        new Promise((resolve) => timers.setTimeout(resolve, UNMAP_TIMEOUT_MS));
      await Promise.race([pending.catch(() => undefined), deadline()]);
      const last = mapping;
      mapping = null;
      if (last === null || client === null) return;
      const removed = await Promise.race([client.unmap(last), deadline().then(() => false)]);
      log.info({ ...describeMapping(last), confirmed: removed }, PORT_MAPPING_MESSAGES.removed);
      options.onChange?.(null);
    },
    get mapping(): PortMapping | null {
      return mapping;
    },
    status(): PortMappingStatus | null {
      if (mapping === null) return null;
      const { protocol, externalPort, lifetimeSeconds: lifetime } = mapping;
      const externalAddress = describeMapping(mapping).externalAddress as string | null;
      const expiresInSeconds = Math.max(0, Math.round((expiresAtMs() - clock.now()) / 1000));
      return {
        protocol,
        externalAddress,
        externalPort,
        internalPort: mapping.internalPort,
        lifetime,
        expiresInSeconds,
      };
    },
  };
}
