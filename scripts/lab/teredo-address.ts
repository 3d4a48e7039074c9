/**
 * Reading a client's Teredo address off its tunnel interface (`ip -j -6 addr`) and saying what
 * it encodes: the server, the NAT mapping (public IPv4 and port, in clear) and the cone flag.
 */
import { decodeTeredoAddress, isTeredo, parseIPv6 } from '../../src/teredo/address.js';
import { TEREDO_CONSTANTS } from '../../src/teredo/constants.js';
import { formatIPv4 } from '../../src/teredo/ipv4.js';

export interface TeredoAddressInfo {
  /** As `ip` prints it. */
  readonly address: string;
  readonly server: string;
  readonly mappedIPv4: string;
  readonly mappedPort: number;
  readonly cone: boolean;
}

/** The decoded fields of `text`, or null if it is not an address in 2001:0::/32. */
export function describeTeredoAddress(text: string): TeredoAddressInfo | null {
  const bytes = parseIPv6(text);
  if (bytes === null || !isTeredo(bytes)) return null;
  const fields = decodeTeredoAddress(bytes);
  return {
    address: text,
    server: formatIPv4(fields.server),
    mappedIPv4: formatIPv4(fields.client),
    mappedPort: fields.port,
    cone: (fields.flags & TEREDO_CONSTANTS.coneFlag) !== 0,
  };
}

export function formatTeredoAddress(info: TeredoAddressInfo): string {
  const kind = info.cone ? 'cone flag set' : 'cone flag clear';
  return `${info.address} (server ${info.server}, mapped ${info.mappedIPv4}:${info.mappedPort}, ${kind})`;
}

interface IpAddrEntry {
  readonly addr_info?: readonly { readonly family?: string; readonly local?: string }[];
}

/** The IPv6 addresses in `ip -j -6 addr show dev X` output (empty on anything unexpected). */
export function ipv6AddressesFromJson(json: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return [];
  }
  if (!Array.isArray(parsed)) return [];
  const addresses: string[] = [];
  for (const entry of parsed as IpAddrEntry[]) {
    for (const info of entry.addr_info ?? []) {
      if (typeof info.local === 'string' && (info.family === undefined || info.family === 'inet6')) {
        addresses.push(info.local);
      }
    }
  }
  return addresses;
}

/** The first Teredo address among `addresses`, decoded. */
export function findTeredoAddress(addresses: readonly string[]): TeredoAddressInfo | null {
  for (const address of addresses) {
    const info = describeTeredoAddress(address);
    if (info !== null) return info;
  }
  return null;
}
