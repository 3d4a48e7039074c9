/**
 * What every port mapping protocol (NAT-PMP, PCP, UPnP IGD) ends with: the NAT's external
 * address and port for our Teredo UDP port, and for how long. The codecs (port-mapping-natpmp.ts,
 * port-mapping-pcp.ts, port-mapping-upnp.ts) judge replies as hostile input: every length is
 * checked by hand, nothing throws, a refused reply is a typed reason.
 */

export const PORT_MAPPING_PROTOCOLS = ['pcp', 'natpmp', 'upnp'] as const;
export type PortMappingProtocol = (typeof PORT_MAPPING_PROTOCOLS)[number];

export interface PortMapping {
  readonly protocol: PortMappingProtocol;
  /** The NAT's external IPv4 (uint32), 0 when the protocol has not told it (NAT-PMP before its address query). */
  readonly externalIPv4: number;
  readonly externalPort: number;
  readonly internalPort: number;
  readonly lifetimeSeconds: number;
  /** NAT-PMP and PCP: the server's epoch (seconds since its table was created); null for UPnP. */
  readonly epoch: number | null;
}

/** The NAT-PMP and PCP server port on the gateway (RFC 6886 section 3.1, RFC 6887 section 19.1). */
export const NATPMP_PCP_PORT = 5351;
/** The largest datagram a PCP server may send (RFC 6887 section 7): anything longer is refused. */
export const MAX_PORT_MAPPING_DATAGRAM = 1100;

/**
 * Whether the server lost its mappings since the previous answer (RFC 6886 section 3.6, RFC 6887
 * section 8.5): its epoch went backwards, or grew less than 7/8 of our own elapsed time (less 2 s).
 */
export function epochLost(
  previousEpoch: number,
  previousAtMs: number,
  epoch: number,
  nowMs: number,
): boolean {
  if (epoch < previousEpoch) return true;
  const ours = Math.max(0, (nowMs - previousAtMs) / 1000);
  const theirs = epoch - previousEpoch;
  return theirs + 2 < (ours * 7) / 8;
}
