/**
 * A route through an interface in a routing table of its own choosing (rtnetlink(7)), which the
 * route ioctls (tun.ts) cannot express: the relay's announcement route (AnnounceTable), which a
 * BGP daemon learns, and with SharedRelayAddress the relay's IPv4 /32 beside it (a 4-byte
 * destination makes an IPv4 route; the names say 6 for the prefix route they were made for). The request is built here (pure, host byte order like all of netlink) and
 * sent by the addon, which waits for the kernel's acknowledgement.
 */
import { native } from './native.js';

const RTM_NEWROUTE = 24;
const RTM_DELROUTE = 25;
const NLM_F_REQUEST = 0x1;
const NLM_F_ACK = 0x4;
const NLM_F_REPLACE = 0x100;
const NLM_F_CREATE = 0x400;
const AF_INET = 2;
const AF_INET6 = 10;
/** rtm_table when the table is only in RTA_TABLE (ids above 255). */
const RT_TABLE_COMPAT = 252;
const RTPROT_STATIC = 4;
const RT_SCOPE_UNIVERSE = 0;
const RTN_UNICAST = 1;
const RTA_DST = 1;
const RTA_OIF = 4;
const RTA_PRIORITY = 6;
const RTA_TABLE = 15;
const HEADER_BYTES = 16;
const RTMSG_BYTES = 12;
const ESRCH = 3;

export interface TableRoute {
  readonly ifindex: number;
  readonly dst: Uint8Array;
  readonly prefixLen: number;
  readonly metric: number;
  readonly table: number;
}

/** The RTM_NEWROUTE (create or replace) or RTM_DELROUTE request for `route`, with NLM_F_ACK. */
export function encodeTableRouteRequest(present: boolean, route: TableRoute, sequence: number): Uint8Array {
  if (route.dst.length !== 16 && route.dst.length !== 4)
    throw new RangeError('a destination is 16 bytes (IPv6) or 4 (IPv4)');
  const attributes: Array<readonly [number, Uint8Array]> = [
    [RTA_DST, route.dst],
    [RTA_OIF, u32(route.ifindex)],
    [RTA_PRIORITY, u32(route.metric)],
    [RTA_TABLE, u32(route.table)],
  ];
  const length = HEADER_BYTES + RTMSG_BYTES + attributes.reduce((sum, [, data]) => sum + 4 + data.length, 0);
  const bytes = new Uint8Array(length);
  const view = new DataView(bytes.buffer);
  const flags = NLM_F_REQUEST | NLM_F_ACK | (present ? NLM_F_CREATE | NLM_F_REPLACE : 0);
  view.setUint32(0, length, true);
  view.setUint16(4, present ? RTM_NEWROUTE : RTM_DELROUTE, true);
  view.setUint16(6, flags, true);
  view.setUint32(8, sequence >>> 0, true);
  view.setUint32(12, 0, true);
  bytes.set(
    [
      route.dst.length === 4 ? AF_INET : AF_INET6,
      route.prefixLen,
      0,
      0,
      route.table < 256 ? route.table : RT_TABLE_COMPAT,
      RTPROT_STATIC,
    ].concat([RT_SCOPE_UNIVERSE, RTN_UNICAST]),
    HEADER_BYTES,
  );
  let offset = HEADER_BYTES + RTMSG_BYTES;
  for (const [type, data] of attributes) {
    view.setUint16(offset, 4 + data.length, true);
    view.setUint16(offset + 2, type, true);
    bytes.set(data, offset + 4);
    offset += 4 + data.length;
  }
  return bytes;
}

function u32(value: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value >>> 0, true);
  return bytes;
}

let sequence = 0;

function errnoError(errno: number, what: string): Error {
  const error = new Error(`${what}: errno ${errno}`) as NodeJS.ErrnoException;
  error.errno = -errno;
  return error;
}

/** Adds (or replaces) `route` in its table; throws with the kernel's errno. */
export function addTableRoute6(route: TableRoute): void {
  const errno = native.netlinkRouteRequest(encodeTableRouteRequest(true, route, ++sequence));
  if (errno !== 0) throw errnoError(errno, `add route to table ${route.table}`);
}

/** Removes `route` from its table; a route that is not there is fine. */
export function delTableRoute6(route: TableRoute): void {
  const errno = native.netlinkRouteRequest(encodeTableRouteRequest(false, route, ++sequence));
  if (errno !== 0 && errno !== ESRCH) throw errnoError(errno, `remove route from table ${route.table}`);
}
