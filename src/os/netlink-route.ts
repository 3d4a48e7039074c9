/**
 * Sans-I/O reading of the kernel's NETLINK_ROUTE notifications (netlink(7), rtnetlink(7)) for
 * link changes and IPv4 address and route changes: which of them can change the host's IPv4
 * uplink. Every length is checked before it is read; a malformed message ends the scan of its
 * datagram and is counted, never thrown. Netlink is in host byte order.
 */

export const RTM = Object.freeze({
  NEWLINK: 16,
  DELLINK: 17,
  NEWADDR: 20,
  DELADDR: 21,
  NEWROUTE: 24,
  DELROUTE: 25,
});
const NLMSG_ERROR = 2;
const NLMSG_OVERRUN = 4;
const NLMSG_HEADER_BYTES = 16;
const IFINFOMSG_BYTES = 16;
const IFADDRMSG_BYTES = 8;
const RTMSG_BYTES = 12;
const AF_INET = 2;
const RT_SCOPE_HOST = 254;
const RTN_UNICAST = 1;
/** IFF_UP | IFF_RUNNING | IFF_LOWER_UP: a link going up or down, administratively or its carrier. */
const LINK_STATE_FLAGS = 0x1 | 0x40 | 0x10000;

export type UplinkChangeKind = 'link' | 'address' | 'default-route';

export interface UplinkChange {
  readonly kind: UplinkChangeKind;
  readonly ifindex: number;
  /** New (or up, for a link) rather than deleted (or down). */
  readonly added: boolean;
}

export interface RouteScan {
  readonly changes: readonly UplinkChange[];
  /** Messages too short for their header or body, or whose length runs past the datagram. */
  readonly malformed: number;
  /** The kernel dropped notifications (NLMSG_OVERRUN): anything may have changed. */
  readonly overrun: boolean;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * The changes in one datagram read from the socket that can move the IPv4 uplink: a link's
 * state, a non-host-scope IPv4 address, an IPv4 unicast default route. `ignored(ifindex)` drops
 * the daemon's own interfaces (its tunnel).
 */
export function scanRouteMessages(
  bytes: Uint8Array,
  length: number,
  ignored: (ifindex: number) => boolean,
): RouteScan {
  const view = new DataView(bytes.buffer, bytes.byteOffset, Math.min(length, bytes.byteLength));
  const changes: UplinkChange[] = [];
  let malformed = 0;
  let overrun = false;
  let offset = 0;
  while (offset + NLMSG_HEADER_BYTES <= view.byteLength) {
    const messageLength = view.getUint32(offset, LITTLE_ENDIAN);
    const type = view.getUint16(offset + 4, LITTLE_ENDIAN);
    if (messageLength < NLMSG_HEADER_BYTES || offset + messageLength > view.byteLength) {
      malformed += 1;
      break;
    }
    const body = offset + NLMSG_HEADER_BYTES;
    const bodyLength = messageLength - NLMSG_HEADER_BYTES;
    if (type === NLMSG_OVERRUN) overrun = true;
    else if (type !== NLMSG_ERROR) {
      const change = judge(view, type, body, bodyLength);
      if (change === 'malformed') malformed += 1;
      else if (change !== null && !ignored(change.ifindex)) changes.push(change);
    }
    offset += (messageLength + 3) & ~3;
  }
  if (offset < view.byteLength && offset + NLMSG_HEADER_BYTES > view.byteLength) malformed += 1;
  return { changes, malformed, overrun };
}

function judge(
  view: DataView,
  type: number,
  body: number,
  bodyLength: number,
): UplinkChange | 'malformed' | null {
  switch (type) {
    case RTM.NEWLINK:
    case RTM.DELLINK: {
      if (bodyLength < IFINFOMSG_BYTES) return 'malformed';
      const ifindex = view.getInt32(body + 4, LITTLE_ENDIAN);
      const flags = view.getUint32(body + 8, LITTLE_ENDIAN);
      const change = view.getUint32(body + 12, LITTLE_ENDIAN);
      if (type === RTM.NEWLINK && (change & LINK_STATE_FLAGS) === 0) return null;
      const up = type === RTM.NEWLINK && (flags & LINK_STATE_FLAGS) === LINK_STATE_FLAGS;
      return { kind: 'link', ifindex, added: up };
    }
    case RTM.NEWADDR:
    case RTM.DELADDR: {
      if (bodyLength < IFADDRMSG_BYTES) return 'malformed';
      const family = view.getUint8(body);
      const scope = view.getUint8(body + 3);
      if (family !== AF_INET || scope === RT_SCOPE_HOST) return null;
      return {
        kind: 'address',
        ifindex: view.getUint32(body + 4, LITTLE_ENDIAN),
        added: type === RTM.NEWADDR,
      };
    }
    case RTM.NEWROUTE:
    case RTM.DELROUTE: {
      if (bodyLength < RTMSG_BYTES) return 'malformed';
      const family = view.getUint8(body);
      const destinationLength = view.getUint8(body + 1);
      const routeType = view.getUint8(body + 7);
      if (family !== AF_INET || destinationLength !== 0 || routeType !== RTN_UNICAST) return null;
      // The output interface is an attribute (RTA_OIF); 0 when absent (a multipath route, say).
      return {
        kind: 'default-route',
        ifindex: outputInterface(view, body + RTMSG_BYTES, body + bodyLength),
        added: type === RTM.NEWROUTE,
      };
    }
    default:
      return null;
  }
}

const RTA_OIF = 4;

/** RTA_OIF among the route's attributes (struct rtattr: u16 length, u16 type, value), or 0. */
function outputInterface(view: DataView, start: number, end: number): number {
  let offset = start;
  while (offset + 4 <= end) {
    const length = view.getUint16(offset, LITTLE_ENDIAN);
    const type = view.getUint16(offset + 2, LITTLE_ENDIAN);
    if (length < 4 || offset + length > end) return 0;
    if (type === RTA_OIF && length >= 8) return view.getUint32(offset + 4, LITTLE_ENDIAN);
    offset += (length + 3) & ~3;
  }
  return 0;
}
