/**
 * IPv4 addresses as uint32 values of the network-order address (198.51.100.1 = 0xc6336401),
 * the form every Teredo field uses.
 */

const DECIMAL_OCTET = /^(?:0|[1-9][0-9]{0,2})$/;

/** Strict dotted quad: four decimal octets 0..255 without leading zeros; null otherwise. */
export function parseIPv4(text: string): number | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let value = 0;
  for (const part of parts) {
    if (!DECIMAL_OCTET.test(part)) return null;
    const octet = Number(part);
    if (octet > 255) return null;
    value = value * 256 + octet;
  }
  return value;
}

export function formatIPv4(value: number): string {
  return `${(value >>> 24) & 0xff}.${(value >>> 16) & 0xff}.${(value >>> 8) & 0xff}.${value & 0xff}`;
}

interface Block {
  readonly network: number;
  readonly mask: number;
}

function block(network: number, prefixLength: number): Block {
  return { network, mask: prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0 };
}

/**
 * What Miredo's is_ipv4_global_unicast refuses. Deliberately not the full IANA special-purpose
 * registry: 100.64/10, the documentation ranges, 198.18/15 and 240/4 pass, and lab setups rely on it.
 */
const NON_GLOBAL: readonly Block[] = Object.freeze([
  block(0x00000000, 8), // 0/8 "this network"
  block(0x0a000000, 8), // 10/8 private
  block(0x7f000000, 8), // 127/8 loopback
  block(0xa9fe0000, 16), // 169.254/16 link-local
  block(0xac100000, 12), // 172.16/12 private
  block(0xc0586300, 24), // 192.88.99/24 6to4 relay anycast
  block(0xc0a80000, 16), // 192.168/16 private
  block(0xe0000000, 4), // 224/4 multicast
  block(0xffffffff, 32), // limited broadcast
]);

export function isGlobalUnicastIPv4(value: number): boolean {
  const address = value >>> 0;
  // An indexed loop: for..of would allocate an iterator on every packet.
  for (let i = 0; i < NON_GLOBAL.length; i += 1) {
    const block = NON_GLOBAL[i];
    if (block !== undefined && (address & block.mask) >>> 0 === block.network) return false;
  }
  return true;
}
