/**
 * The IPv4 default gateway, from /proc/net/route: where the port mapping protocols are spoken
 * (NAT-PMP, PCP and UPnP IGD talk to the LAN gateway only). Read by the engine before its chroot.
 */
import { readFileSync } from 'node:fs';

const RTF_UP = 0x1;
const RTF_GATEWAY = 0x2;

/** The gateway of the first default route in /proc/net/route's text (uint32, network order), or null. */
export function parseDefaultGateway(text: string): number | null {
  for (const line of text.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 8) continue;
    const [, destination, gateway, flags, , , , mask] = fields;
    if (destination !== '00000000' || mask !== '00000000') continue;
    const bits = Number.parseInt(flags ?? '', 16);
    if ((bits & (RTF_UP | RTF_GATEWAY)) !== (RTF_UP | RTF_GATEWAY) || !/^[0-9A-Fa-f]{8}$/.test(gateway ?? ''))
      continue;
    // The kernel prints the address in host byte order (little-endian here).
    const value = Number.parseInt(gateway ?? '', 16);
    return (
      (((value & 0xff) << 24) |
        (((value >>> 8) & 0xff) << 16) |
        (((value >>> 16) & 0xff) << 8) |
        (value >>> 24)) >>>
      0
    );
  }
  return null;
}

export function readDefaultGateway(path = '/proc/net/route'): number | null {
  try {
    return parseDefaultGateway(readFileSync(path, 'latin1'));
  } catch {
    return null;
  }
}
