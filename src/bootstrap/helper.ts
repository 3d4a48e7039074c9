/**
 * The privileged helper: the bootstrap's side of the engine's requests. Each request has already
 * passed the IPC schema; here it is judged by the policy, applied through the kernel interface,
 * and remembered, so that when an engine goes away the interface returns to the bootstrap's own
 * baseline (the relay's static tunnel, or a bare client interface).
 */
import type { Logger } from '../log/logger.js';
import { formatIPv6 } from '../teredo/ipv6-text.js';
import type { ClientHook } from './client-hook.js';
import { decideHelperRequest } from './helper-policy.js';
import type { HelperAction } from './helper-policy.js';
import type { HelperRequest, ReplyResult } from '../ipc/bootstrap-engine-messages.js';
import type { TunControl, TunnelInterface } from './tun-control.js';

export interface AddressEntry {
  readonly address: Uint8Array;
  readonly prefixLen: number;
}

export interface RouteEntry {
  readonly dst: Uint8Array;
  readonly prefixLen: number;
  readonly metric: number;
}

/** The interface as the bootstrap itself configured it. */
export interface TunnelBaseline {
  readonly up: boolean;
  readonly mtu: number | null;
  readonly addresses: readonly AddressEntry[];
  readonly routes: readonly RouteEntry[];
}

export const BARE_BASELINE: TunnelBaseline = { up: false, mtu: null, addresses: [], routes: [] };

export interface HelperOptions {
  readonly tunnel: TunnelInterface | null;
  readonly prefix: number;
  /** A client's Teredo server (uint32 IPv4): see HelperPolicyContext.serverIPv4. */
  readonly serverIPv4?: number | null;
  readonly baseline: TunnelBaseline;
  readonly tun: TunControl;
  readonly log: Logger;
  /** A client's hook runner (client-state requests); null or absent otherwise. */
  readonly clientHook?: ClientHook | null;
}

export interface HelperStats {
  readonly accepted: number;
  readonly refused: number;
  readonly failed: number;
}

export interface Helper {
  handle(request: HelperRequest): Promise<ReplyResult>;
  /** A reload changed the prefix or the static configuration. */
  reconfigure(prefix: number, baseline: TunnelBaseline): void;
  /** Undoes what the engine changed: back to the baseline. */
  revertEngineChanges(): Promise<void>;
  stats(): HelperStats;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const addressKey = (entry: AddressEntry): string => `${formatIPv6(entry.address)}/${entry.prefixLen}`;
const routeKey = (entry: RouteEntry): string =>
  `${formatIPv6(entry.dst)}/${entry.prefixLen} metric ${entry.metric}`;

function describe(action: HelperAction): string {
  switch (action.kind) {
    case 'add-address':
    case 'del-address':
      return `${action.kind} ${addressKey(action)}`;
    case 'add-route':
    case 'del-route':
      return `${action.kind} ${routeKey(action)}`;
    case 'set-mtu':
      return `set-mtu ${action.mtu}`;
    case 'link':
      return `link ${action.up ? 'up' : 'down'}`;
    case 'client-state':
      return action.up
        ? `client-state up ${formatIPv6(action.address)} mtu ${action.mtu}`
        : 'client-state down';
  }
}

/**
 * What the engines changed on the interface beyond the bootstrap's baseline: what to undo, and
 * what of the baseline to put back, when an engine goes away.
 */
interface EngineChanges {
  readonly addedAddresses: Map<string, AddressEntry>;
  readonly removedAddresses: Map<string, AddressEntry>;
  readonly addedRoutes: Map<string, RouteEntry>;
  readonly removedRoutes: Map<string, RouteEntry>;
  linkChanged: boolean;
  mtuChanged: boolean;
}

function noChanges(): EngineChanges {
  return {
    addedAddresses: new Map(),
    removedAddresses: new Map(),
    addedRoutes: new Map(),
    removedRoutes: new Map(),
    linkChanged: false,
    mtuChanged: false,
  };
}

/** Applies an accepted action to the kernel (or the client hook) and records the change. */
async function applyAction(
  options: HelperOptions,
  baseline: TunnelBaseline,
  changes: EngineChanges,
  tunnel: TunnelInterface,
  action: HelperAction,
): Promise<void> {
  const { tun } = options;
  const { index, name } = tunnel;
  switch (action.kind) {
    case 'add-address': {
      await tun.addAddress6(index, action.address, action.prefixLen);
      const key = addressKey(action);
      changes.removedAddresses.delete(key);
      if (!baseline.addresses.some((entry) => addressKey(entry) === key))
        changes.addedAddresses.set(key, action);
      return;
    }
    case 'del-address': {
      await tun.delAddress6(index, action.address, action.prefixLen);
      const key = addressKey(action);
      changes.addedAddresses.delete(key);
      if (baseline.addresses.some((entry) => addressKey(entry) === key))
        changes.removedAddresses.set(key, action);
      return;
    }
    case 'add-route': {
      await tun.addRoute6(index, action.dst, action.prefixLen, action.metric);
      const key = routeKey(action);
      changes.removedRoutes.delete(key);
      if (!baseline.routes.some((entry) => routeKey(entry) === key)) changes.addedRoutes.set(key, action);
      return;
    }
    case 'del-route': {
      await tun.delRoute6(index, action.dst, action.prefixLen, action.metric);
      const key = routeKey(action);
      changes.addedRoutes.delete(key);
      if (baseline.routes.some((entry) => routeKey(entry) === key)) changes.removedRoutes.set(key, action);
      return;
    }
    case 'set-mtu':
      await tun.setMtu(name, action.mtu);
      changes.mtuChanged = true;
      return;
    case 'link':
      await tun.setLinkUp(name, action.up);
      changes.linkChanged = true;
      return;
    case 'client-state':
      await options.clientHook?.report(
        action.up ? 'up' : 'down',
        action.address,
        action.mtu,
        action.portMapping,
      );
      return;
  }
}

/** Undoes `changes` (each step on its own: a failure is logged and the rest goes on), then the hook's last word. */
async function revertChanges(
  options: HelperOptions,
  baseline: TunnelBaseline,
  changes: EngineChanges,
  tunnel: TunnelInterface,
): Promise<void> {
  const { tun, log } = options;
  const { index, name } = tunnel;
  const attempt = async (what: string, operation: () => void | Promise<void>): Promise<void> => {
    try {
      await operation();
    } catch (error) {
      log.warning('Cannot %s: %s', what, errorText(error));
    }
  };
  for (const [key, route] of changes.addedRoutes) {
    await attempt(`remove route ${key}`, () =>
      tun.delRoute6(index, route.dst, route.prefixLen, route.metric),
    );
  }
  for (const [key, entry] of changes.addedAddresses) {
    await attempt(`remove address ${key}`, () => tun.delAddress6(index, entry.address, entry.prefixLen));
  }
  if (changes.mtuChanged && baseline.mtu !== null) {
    const mtu = baseline.mtu;
    await attempt(`restore MTU ${mtu}`, () => tun.setMtu(name, mtu));
  }
  if (changes.linkChanged)
    await attempt(`set ${name} ${baseline.up ? 'up' : 'down'}`, () => tun.setLinkUp(name, baseline.up));
  for (const [key, entry] of changes.removedAddresses) {
    await attempt(`restore address ${key}`, () => tun.addAddress6(index, entry.address, entry.prefixLen));
  }
  for (const [key, route] of changes.removedRoutes) {
    await attempt(`restore route ${key}`, () =>
      tun.addRoute6(index, route.dst, route.prefixLen, route.metric),
    );
  }
  // Last, as privproc does when its worker goes: the hook sees the interface as we leave it.
  await options.clientHook?.finish();
}

export function createHelper(options: HelperOptions): Helper {
  const { tunnel, log } = options;
  let prefix = options.prefix >>> 0;
  let baseline = options.baseline;
  const counters = { accepted: 0, refused: 0, failed: 0 };
  let changes = noChanges();

  return {
    async handle(request: HelperRequest): Promise<ReplyResult> {
      const decision = decideHelperRequest(request, {
        ifindex: tunnel?.index ?? null,
        prefix,
        serverIPv4: options.serverIPv4 ?? null,
      });
      if (!decision.accept || tunnel === null) {
        const reason = decision.accept ? 'this daemon has no tunnel interface' : decision.reason;
        counters.refused += 1;
        log.warning(
          { request: request.type, id: request.id },
          'Refused %s request: %s',
          request.type,
          reason,
        );
        return { ok: false, kind: 'refused', reason };
      }
      try {
        await applyAction(options, baseline, changes, tunnel, decision.action);
        counters.accepted += 1;
        log.info({ request: request.type, id: request.id }, 'Applied %s', describe(decision.action));
        return { ok: true };
      } catch (error) {
        counters.failed += 1;
        const reason = `${describe(decision.action)}: ${errorText(error)}`;
        log.error({ request: request.type, id: request.id }, 'Cannot apply %s', reason);
        return { ok: false, kind: 'failed', reason };
      }
    },

    reconfigure(nextPrefix: number, nextBaseline: TunnelBaseline): void {
      prefix = nextPrefix >>> 0;
      baseline = nextBaseline;
    },

    async revertEngineChanges(): Promise<void> {
      if (tunnel === null) return;
      await revertChanges(options, baseline, changes, tunnel);
      changes = noChanges();
    },

    stats(): HelperStats {
      return { ...counters };
    },
  };
}
