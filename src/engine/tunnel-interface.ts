/**
 * The client's interface configuration, asked of the bootstrap's helper one request at a time
 * (the helper serves them in order anyway; waiting for each reply lets us know what the kernel
 * really has, so a refused or failed request is never assumed applied, and never undone). Each
 * step is decided when its turn comes, from what earlier replies confirmed:
 *
 *   up   : MTU, link up, fe80::ffff:ffff:ffff/64, <address>/32, ::/0 metric 1029, then the old
 *          address removed if it changed (Miredo's client hook does the same with `ip`)
 *   down : ::/0 and <address>/32 removed; the link stays up with its link-local address (unless
 *          Miredo's hook takes it down: the next up asks for the link again)
 *
 * Both end with a `client-state` report, for which the bootstrap runs Miredo's client hook.
 */
import type { Logger } from '../log/logger.js';
import { formatIPv6 } from '../teredo/ipv6-text.js';
import type { HelperRequest, ReplyMessage, HookPortMapping } from '../ipc/bootstrap-engine-messages.js';
import { clientLinkLocal } from '../teredo/address.js';
import { TEREDO_CONSTANTS, TEREDO_ROUTE_METRIC } from '../teredo/constants.js';

export const CLIENT_ADDRESS_PREFIX_LENGTH = 32;
export const LINK_LOCAL_PREFIX_LENGTH = 64;
/** Miredo's hook value: behind the native default routes learnt from RAs (1024). */
export const DEFAULT_ROUTE_METRIC = TEREDO_ROUTE_METRIC.defaultRoute;
/** What a down state reports, as Miredo's privproc. */
export const DOWN_MTU = TEREDO_CONSTANTS.minMtu;
/** fe80::ffff:ffff:ffff, whatever the NAT type (Miredo's hook does the same). */
export const CLIENT_LINK_LOCAL = formatIPv6(clientLinkLocal(false));

type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;
type RequestBody = WithoutId<HelperRequest>;

/** What the replies confirmed. */
export interface ConfiguredInterface {
  readonly linkUp: boolean;
  readonly mtu: number | null;
  readonly linkLocal: boolean;
  /** Our Teredo address as text, when set. */
  readonly address: string | null;
  readonly defaultRoute: boolean;
}

export interface TunnelInterfaceStats {
  readonly sent: number;
  readonly refused: number;
  readonly failed: number;
}

export interface TunnelInterface {
  /** Qualification's 'up': first address, new address or new MTU. */
  up(address: Uint8Array, mtu: number): void;
  /** Qualification's 'down', and shutdown. */
  down(): void;
  /** The bootstrap's answer to one of our requests; false when the id is not ours. */
  reply(message: ReplyMessage): boolean;
  /** Resolves once every queued request is answered, or after `timeoutMs`. */
  settled(timeoutMs: number): Promise<void>;
  configured(): ConfiguredInterface;
  stats(): TunnelInterfaceStats;
}

export interface TunnelInterfaceOptions {
  readonly ifindex: number;
  readonly send: (request: HelperRequest) => void;
  readonly log: Logger;
  /** The port mapping on the NAT, told to the hook with an up state (PORT_MAPPING_*). */
  readonly portMapping?: () => HookPortMapping | null;
}

interface Step {
  /** The request to send now, or null when there is nothing left to do. */
  readonly plan: () => RequestBody | null;
  /** Applied to `state` when the helper confirms. */
  readonly applied: () => void;
}

/** One line per helper request, as the log and the tests show it. */
export function describeRequest(request: RequestBody): string {
  switch (request.type) {
    case 'set-address':
    case 'del-address':
      return `${request.type} ${request.address}/${request.prefixLen}`;
    case 'set-route':
    case 'del-route':
      return `${request.type} ${request.dst}/${request.prefixLen} metric ${request.metric}`;
    case 'set-mtu':
      return `set-mtu ${request.mtu}`;
    case 'link':
      return `link ${request.up ? 'up' : 'down'}`;
    case 'client-state':
      return `client-state ${request.state} ${request.address} mtu ${request.mtu}`;
  }
}

/** What the helper confirmed so far; the steps read it when their turn comes and update it. */
interface InterfaceState {
  linkUp: boolean;
  mtu: number | null;
  linkLocal: boolean;
  /** Our Teredo address as text, when set. */
  address: string | null;
  defaultRoute: boolean;
}

function defaultRoute(type: 'set-route' | 'del-route', ifindex: number): RequestBody {
  return { type, ifindex, dst: '::', prefixLen: 0, metric: DEFAULT_ROUTE_METRIC };
}

/** Qualification's 'up': whatever is missing of MTU, link, link-local, address and default route. */
function upSteps(state: InterfaceState, ifindex: number, address: string, mtu: number): Step[] {
  let previous: string | null = null;
  return [
    {
      plan: () => (state.mtu === mtu ? null : { type: 'set-mtu', ifindex, mtu }),
      applied: () => {
        state.mtu = mtu;
      },
    },
    {
      plan: () => (state.linkUp ? null : { type: 'link', ifindex, up: true }),
      applied: () => {
        state.linkUp = true;
      },
    },
    {
      plan: () =>
        state.linkLocal
          ? null
          : { type: 'set-address', ifindex, address: CLIENT_LINK_LOCAL, prefixLen: LINK_LOCAL_PREFIX_LENGTH },
      applied: () => {
        state.linkLocal = true;
      },
    },
    {
      plan: () => {
        previous = state.address;
        if (previous === address) return null;
        return { type: 'set-address', ifindex, address, prefixLen: CLIENT_ADDRESS_PREFIX_LENGTH };
      },
      applied: () => {
        state.address = address;
      },
    },
    {
      plan: () => (state.defaultRoute ? null : defaultRoute('set-route', ifindex)),
      applied: () => {
        state.defaultRoute = true;
      },
    },
    // The replaced address goes last, so that the interface is never without one. If the new
    // one was refused, the old one is still removed: its mapping is gone.
    {
      plan: () => {
        if (previous === null || previous === address) return null;
        return { type: 'del-address', ifindex, address: previous, prefixLen: CLIENT_ADDRESS_PREFIX_LENGTH };
      },
      applied: () => {
        if (state.address === previous) state.address = null;
      },
    },
  ];
}

/** Qualification's 'down', and shutdown: the default route and the address go; the link stays. */
function downSteps(state: InterfaceState, ifindex: number): Step[] {
  return [
    {
      plan: () => (state.defaultRoute ? defaultRoute('del-route', ifindex) : null),
      applied: () => {
        state.defaultRoute = false;
      },
    },
    {
      plan: () =>
        state.address === null
          ? null
          : { type: 'del-address', ifindex, address: state.address, prefixLen: CLIENT_ADDRESS_PREFIX_LENGTH },
      applied: () => {
        state.address = null;
      },
    },
  ];
}

/**
 * Longer than 80 lines: the request queue (one request in flight, its id, who waits for it to
 * empty) is shared by pump, up, down, reply and settled; the steps themselves are upSteps() and
 * downSteps().
 */
export function createTunnelInterface(options: TunnelInterfaceOptions): TunnelInterface {
  const { ifindex, send, log } = options;
  let reportedUp = false;
  const report = (up: boolean, address: string, mtu: number): Step => ({
    plan: () => {
      if (!up && !reportedUp) return null;
      reportedUp = up;
      const mapping = up ? (options.portMapping?.() ?? null) : null;
      return {
        type: 'client-state',
        ifindex,
        state: up ? 'up' : 'down',
        address,
        mtu,
        ...(mapping === null ? {} : { portMapping: mapping }),
      };
    },
    // Miredo's client hook, which the bootstrap runs on this report, takes the link down (and
    // flushes its addresses, which its "up" puts back): the next up asks for the link again,
    // which changes nothing on a link that is still up.
    applied: () => {
      if (!up) state.linkUp = false;
    },
  });
  const state: InterfaceState = {
    linkUp: false,
    mtu: null,
    linkLocal: false,
    address: null,
    defaultRoute: false,
  };
  const counts = { sent: 0, refused: 0, failed: 0 };
  const queue: Step[] = [];
  let pending: { readonly id: number; readonly step: Step; readonly what: string } | null = null;
  let nextId = 1;
  let idle: Array<() => void> = [];

  const pump = (): void => {
    while (pending === null) {
      const step = queue.shift();
      if (step === undefined) {
        const waiting = idle;
        idle = [];
        for (const resolve of waiting) resolve();
        return;
      }
      const body = step.plan();
      if (body === null) continue;
      const id = nextId;
      nextId = nextId >= 0xffff_ffff ? 1 : nextId + 1;
      pending = { id, step, what: describeRequest(body) };
      counts.sent += 1;
      send({ ...body, id } as HelperRequest);
    }
  };

  const enqueue = (...steps: Step[]): void => {
    queue.push(...steps);
    pump();
  };

  return {
    up(addressBytes: Uint8Array, mtu: number): void {
      const address = formatIPv6(addressBytes);
      enqueue(...upSteps(state, ifindex, address, mtu), report(true, address, mtu));
    },

    down(): void {
      enqueue(...downSteps(state, ifindex), report(false, '::', DOWN_MTU));
    },

    reply(message: ReplyMessage): boolean {
      if (pending === null || pending.id !== message.id) return false;
      const { step, what } = pending;
      pending = null;
      const result = message.result;
      if (result.ok) step.applied();
      else {
        if (result.kind === 'refused') counts.refused += 1;
        else counts.failed += 1;
        log.error(
          { request: what, result: result.kind },
          'Cannot configure the tunnel: %s %s: %s',
          what,
          result.kind,
          result.reason,
        );
      }
      pump();
      return true;
    },

    settled(timeoutMs: number): Promise<void> {
      if (pending === null && queue.length === 0) return Promise.resolve();
      return new Promise((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        idle.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },

    configured(): ConfiguredInterface {
      return { ...state };
    },

    stats(): TunnelInterfaceStats {
      return { ...counts };
    },
  };
}
