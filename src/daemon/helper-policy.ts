/**
 * What the privileged helper may do for the engine. Pure: a parsed request and the bootstrap's
 * own facts in, an accepted kernel action or a refusal reason out.
 *
 * Allowed, and only on the bootstrap's own interface:
 *   - addresses inside the Teredo prefix (<prefix>::/32, prefix length 32..128) or one of the two
 *     Teredo link-local addresses (prefix length 64..128); never multicast. A client may also
 *     set Teredo addresses of its own server under another global prefix (its server decides
 *     the prefix): bits 32..63 equal to the configured server IPv4;
 *   - MTU 1280..65535;
 *   - the prefix route <prefix>::/32 and the default route ::/0, with a metric of at least 1024 so
 *     that a Teredo route never outranks the host's ordinary routes (Miredo uses 1024 and 1029);
 *   - link up/down;
 *   - a client's state report (up with an address it may set, other than a link-local, and an
 *     MTU in range; down with ::), which runs the client hook.
 */
import { formatIPv4 } from '../teredo/ipv4.js';
import { formatIPv6, parseIPv6 } from '../teredo/ipv6-text.js';
import type { HelperRequest } from './ipc.js';
import { parseIPv6Value, prefixToBytes } from './ipv6.js';

export const MIN_MTU = 1280;
export const MAX_MTU = 65535;
export const MIN_ROUTE_METRIC = 1024;
/** Miredo's hook installs the Teredo default route at 1029, behind routes learnt from RAs (1024). */
export const MIN_DEFAULT_ROUTE_METRIC = 1029;

/** fe80::ffff:ffff:ffff (no cone bit) and fe80::8000:5445:5245:444f ("TEREDO", cone bit). */
export const TEREDO_LINK_LOCALS: readonly string[] = ['fe80::ffff:ffff:ffff', 'fe80::8000:5445:5245:444f'];

export interface HelperPolicyContext {
  /** The interface the bootstrap created; null when it has none (server). */
  readonly ifindex: number | null;
  /** The configured Teredo prefix, the first 32 bits (0x20010000 for 2001:0::/32). */
  readonly prefix: number;
  /**
   * A client's Teredo server (uint32 IPv4): addresses embedding it are the client's own, under
   * whatever global prefix the server advertises. Absent or null for a relay.
   */
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
    };

export type PolicyDecision =
  | { readonly accept: true; readonly ifindex: number; readonly action: HelperAction }
  | { readonly accept: false; readonly reason: string };

function refuse(reason: string): PolicyDecision {
  return { accept: false, reason };
}

function prefixText(prefix: number): string {
  return `${formatIPv6(prefixToBytes(prefix))}/32`;
}

function inPrefix(address: Uint8Array, prefix: number): boolean {
  const p = prefixToBytes(prefix);
  return address[0] === p[0] && address[1] === p[1] && address[2] === p[2] && address[3] === p[3];
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

/** Bits 32..63 are `server`, and the first 32 bits are a global unicast prefix. */
function isAddressOfServer(address: Uint8Array, server: number): boolean {
  const first = address[0] ?? 0;
  const linkOrSiteLocal = first === 0xfe && ((address[1] ?? 0) & 0x80) !== 0;
  if (first === 0 || first === 0xff || linkOrSiteLocal) return false;
  const embedded =
    (((address[4] ?? 0) << 24) | ((address[5] ?? 0) << 16) | ((address[6] ?? 0) << 8) | (address[7] ?? 0)) >>>
    0;
  return embedded === server >>> 0;
}

function isTeredoLinkLocal(address: Uint8Array): boolean {
  return TEREDO_LINK_LOCALS.some((text) => {
    const bytes = parseIPv6(text);
    return bytes !== null && sameBytes(bytes, address);
  });
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
  const server = context.serverIPv4 ?? null;
  if (inPrefix(address, context.prefix) || (server !== null && isAddressOfServer(address, server))) {
    if (prefixLen < 32) return refuse(`prefix length /${prefixLen} is wider than the Teredo prefix /32`);
    return address;
  }
  if (isTeredoLinkLocal(address)) {
    if (prefixLen < 64) return refuse(`prefix length /${prefixLen} is wider than link-local /64`);
    return address;
  }
  const ofServer = server === null ? '' : `, is not a Teredo address of the server ${formatIPv4(server)}`;
  return refuse(
    `address ${text} is outside the Teredo prefix ${prefixText(context.prefix)}${ofServer} and is not a Teredo link-local address`,
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
  const isPrefixRoute = prefixLen === 32 && sameBytes(dst, prefixToBytes(context.prefix));
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
    return { accept: true, ifindex, action: { kind: 'client-state', up: false, address, mtu: request.mtu } };
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
    action: { kind: 'client-state', up: true, address: judged, mtu: request.mtu },
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
