/**
 * What the privileged helper may do for the engine. Pure: a parsed request and the bootstrap's
 * own facts in, an accepted kernel action or a refusal reason out.
 *
 * Allowed, and only on the bootstrap's own interface:
 *   - addresses whose first 32 bits are the configured Teredo prefix (<prefix>::/32; a client's
 *     is always 2001:0::/32, see below) with a prefix length of 32..128, or one of the two Teredo
 *     link-local addresses with 64..128; never multicast;
 *   - MTU 1280..65535;
 *   - the prefix route <prefix>::/32 and the default route ::/0, with a metric of at least 1024 so
 *     that a Teredo route never outranks the host's ordinary routes (Miredo uses 1024 and 1029);
 *   - link up/down;
 *   - a client's state report (up with an address it may set, other than a link-local, and an
 *     MTU in range; down with ::), which runs the client hook.
 *
 * A client's prefix: Miredo's client takes whatever prefix its server advertises, but an
 * address's prefix length makes the kernel install a route for it, so the bootstrap cannot take
 * the engine's word for the prefix: an address under another /32 (say 2a00:1450:c000:201::1/32)
 * would route that whole global /32 into the tunnel. The client engine ignores (logs, counts) a
 * Router Advertisement for any prefix but 2001:0::/32, and this policy refuses the rest.
 *
 * Prefix lengths: the kernel gives an address of length L a route to its /L at metric 256, the
 * metric of every address route, below the 1024 floor of set-route. For L >= 32 inside the
 * prefix, that route is the Teredo prefix route itself (Miredo's hook adds $ADDRESS/32, and so do
 * we) or a part of it: never wider than what set-route allows. Its lower metric only decides
 * between routes to the same destination, and no host has another route into 2001:0::/32, which
 * RFC 4380 reserves for Teredo (a relay's own prefix route is on this same interface). So lengths
 * 32..128 are accepted, and anything wider than /32 is refused; a link-local's /64 route is
 * fe80::/64, which every IPv6 interface has.
 */
import { clientLinkLocal, teredoPrefixAt } from '../teredo/address.js';
import { TEREDO_CONSTANTS, TEREDO_ROUTE_METRIC } from '../teredo/constants.js';
import { formatIPv6 } from '../teredo/ipv6-text.js';
import type { HelperRequest, HookPortMapping } from '../ipc/bootstrap-engine-messages.js';
import { parseIPv6Value, prefixToBytes } from '../ipc/ipv6-value.js';

const { minMtu: MIN_MTU, maxMtu: MAX_MTU } = TEREDO_CONSTANTS;
/** No route of ours below the metrics Miredo uses (constants.ts), so none outranks the host's ordinary routes. */
export const MIN_ROUTE_METRIC = TEREDO_ROUTE_METRIC.prefixRoute;
export const MIN_DEFAULT_ROUTE_METRIC = TEREDO_ROUTE_METRIC.defaultRoute;

/** The Teredo prefix is a /32; the Teredo link-locals live in fe80::/64. */
const TEREDO_PREFIX_BITS = 32;
const LINK_LOCAL_PREFIX_BITS = 64;

/** The Teredo link-locals, restricted then cone: fe80::ffff:ffff:ffff, fe80::8000:5445:5245:444f. */
const TEREDO_LINK_LOCAL_BYTES: readonly Uint8Array[] = [clientLinkLocal(false), clientLinkLocal(true)];
export const TEREDO_LINK_LOCALS: readonly string[] = TEREDO_LINK_LOCAL_BYTES.map(formatIPv6);

export interface HelperPolicyContext {
  /** The interface the bootstrap created; null when it has none (server). */
  readonly ifindex: number | null;
  /** The configured Teredo prefix, the first 32 bits (0x20010000 for 2001:0::/32; a client's is always that). */
  readonly prefix: number;
  /** A client's Teredo server (uint32 IPv4); absent or null for a relay. Only a client reports its state. */
  readonly serverIPv4?: number | null;
}

export type HelperAction =
  | { readonly kind: 'add-address'; readonly address: Uint8Array; readonly prefixLen: number }
  | { readonly kind: 'del-address'; readonly address: Uint8Array; readonly prefixLen: number }
  | { readonly kind: 'set-mtu'; readonly mtu: number }
  | {
      readonly kind: 'add-route';
      readonly dst: Uint8Array;
      readonly prefixLen: number;
      readonly metric: number;
    }
  | {
      readonly kind: 'del-route';
      readonly dst: Uint8Array;
      readonly prefixLen: number;
      readonly metric: number;
    }
  | { readonly kind: 'link'; readonly up: boolean }
  | {
      readonly kind: 'client-state';
      readonly up: boolean;
      /** The Teredo address when up; all zeros when down. */
      readonly address: Uint8Array;
      readonly mtu: number;
      /** When up with a port mapping on the NAT: shown to the hook, never acted on. */
      readonly portMapping: HookPortMapping | null;
    };

export type PolicyDecision =
  | { readonly accept: true; readonly ifindex: number; readonly action: HelperAction }
  | { readonly accept: false; readonly reason: string };

function refuse(reason: string): PolicyDecision {
  return { accept: false, reason };
}

function prefixText(prefix: number): string {
  return `${formatIPv6(prefixToBytes(prefix))}/${TEREDO_PREFIX_BITS}`;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

function isTeredoLinkLocal(address: Uint8Array): boolean {
  return TEREDO_LINK_LOCAL_BYTES.some((bytes) => sameBytes(bytes, address));
}

function judgeAddress(
  value: string,
  prefixLen: number,
  context: HelperPolicyContext,
): PolicyDecision | Uint8Array {
  const address = parseIPv6Value(value);
  if (address === null) return refuse(`"${value}" is not an IPv6 address`);
  const text = formatIPv6(address);
  if (address[0] === 0xff) return refuse(`address ${text} is multicast`);
  if (teredoPrefixAt(address, 0) === context.prefix >>> 0) {
    if (prefixLen < TEREDO_PREFIX_BITS) {
      return refuse(`prefix length /${prefixLen} is wider than the Teredo prefix /${TEREDO_PREFIX_BITS}`);
    }
    return address;
  }
  if (isTeredoLinkLocal(address)) {
    if (prefixLen < LINK_LOCAL_PREFIX_BITS) {
      return refuse(`prefix length /${prefixLen} is wider than link-local /${LINK_LOCAL_PREFIX_BITS}`);
    }
    return address;
  }
  return refuse(
    `address ${text} is outside the Teredo prefix ${prefixText(context.prefix)} and is not a Teredo link-local address`,
  );
}

function judgeRoute(
  value: string,
  prefixLen: number,
  metric: number,
  context: HelperPolicyContext,
): PolicyDecision | Uint8Array {
  const dst = parseIPv6Value(value);
  if (dst === null) return refuse(`"${value}" is not an IPv6 address`);
  const isDefault = prefixLen === 0 && dst.every((byte) => byte === 0);
  const isPrefixRoute = prefixLen === TEREDO_PREFIX_BITS && sameBytes(dst, prefixToBytes(context.prefix));
  if (!isDefault && !isPrefixRoute) {
    return refuse(
      `route ${formatIPv6(dst)}/${prefixLen} is neither the Teredo prefix route ${prefixText(context.prefix)} nor the default route ::/0`,
    );
  }
  const minimum = isDefault ? MIN_DEFAULT_ROUTE_METRIC : MIN_ROUTE_METRIC;
  if (metric < minimum) return refuse(`route metric ${metric} is below ${minimum}`);
  return dst;
}

function judgeClientState(
  request: Extract<HelperRequest, { type: 'client-state' }>,
  context: HelperPolicyContext,
  ifindex: number,
): PolicyDecision {
  if ((context.serverIPv4 ?? null) === null) return refuse('only a client reports its state');
  const address = parseIPv6Value(request.address);
  if (address === null) return refuse(`"${request.address}" is not an IPv6 address`);
  if (request.state === 'down') {
    if (address.some((byte) => byte !== 0)) return refuse('a down state carries the address ::');
    return {
      accept: true,
      ifindex,
      action: { kind: 'client-state', up: false, address, mtu: request.mtu, portMapping: null },
    };
  }
  if (isTeredoLinkLocal(address)) return refuse('an up state carries the Teredo address, not a link-local');
  const judged = judgeAddress(request.address, 128, context);
  if (!(judged instanceof Uint8Array)) return judged;
  if (request.mtu < MIN_MTU || request.mtu > MAX_MTU) {
    return refuse(`MTU ${request.mtu} is outside ${MIN_MTU}..${MAX_MTU}`);
  }
  return {
    accept: true,
    ifindex,
    action: {
      kind: 'client-state',
      up: true,
      address: judged,
      mtu: request.mtu,
      portMapping: request.portMapping ?? null,
    },
  };
}

export function decideHelperRequest(request: HelperRequest, context: HelperPolicyContext): PolicyDecision {
  if (context.ifindex === null) return refuse('this daemon has no tunnel interface');
  if (request.ifindex !== context.ifindex) {
    return refuse(
      `interface index ${request.ifindex} is not this daemon's interface (index ${context.ifindex})`,
    );
  }
  const ifindex = context.ifindex;
  switch (request.type) {
    case 'set-address':
    case 'del-address': {
      const judged = judgeAddress(request.address, request.prefixLen, context);
      if (!(judged instanceof Uint8Array)) return judged;
      const kind = request.type === 'set-address' ? 'add-address' : 'del-address';
      return { accept: true, ifindex, action: { kind, address: judged, prefixLen: request.prefixLen } };
    }
    case 'set-mtu':
      if (request.mtu < MIN_MTU || request.mtu > MAX_MTU) {
        return refuse(`MTU ${request.mtu} is outside ${MIN_MTU}..${MAX_MTU}`);
      }
      return { accept: true, ifindex, action: { kind: 'set-mtu', mtu: request.mtu } };
    case 'set-route':
    case 'del-route': {
      const judged = judgeRoute(request.dst, request.prefixLen, request.metric, context);
      if (!(judged instanceof Uint8Array)) return judged;
      const kind = request.type === 'set-route' ? 'add-route' : 'del-route';
      return {
        accept: true,
        ifindex,
        action: { kind, dst: judged, prefixLen: request.prefixLen, metric: request.metric },
      };
    }
    case 'link':
      return { accept: true, ifindex, action: { kind: 'link', up: request.up } };
    case 'client-state':
      return judgeClientState(request, context, ifindex);
  }
}
