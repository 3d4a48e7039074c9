/**
 * RFC 6081 trailers (section 4 by the RFC's table of contents; the generic layout follows its
 * intent, only the Alternate Address trailer is confirmed against a text: [MS-TERE] 2.2.2). They
 * follow the IPv6 packet in a Teredo UDP payload: the IPv6 Payload Length ends the packet and
 * the rest of the datagram is a sequence of
 *
 *   Type (1) | Length (1: bytes after this one) | Value (Length bytes)
 *
 *   0x01 Nonce               4: nonce (symmetric NAT support)
 *   0x03 Alternate Address   2 + 6n, n = 1..4: reserved (2), n × { IPv4 (4), port (2) }
 *   0x04 Neighbor Discovery  4: DiscoveryType (0 solicitation, 1 advertisement), 3 bytes padding
 *   0x05 Random Port         2: port (sequential port-symmetric NAT)
 *
 * Miredo 1.2.6 reads 40 + Payload Length bytes and ignores them. parseTrailers() fills a
 * caller-owned record and allocates nothing: an unknown type is skipped by its Length, a known
 * type with a wrong Length or value is skipped, a second trailer of a type already seen is
 * skipped, each counted in the record; a Length past the end stops the walk. It never throws.
 * The builders throw RangeError only on programming errors (bad values, no room).
 */
import { assertRoom, readU16, readU32, writeU16, writeU32 } from './bytes.js';

export const TRAILER_TYPE = Object.freeze({
  nonce: 0x01,
  alternateAddress: 0x03,
  neighborDiscovery: 0x04,
  randomPort: 0x05,
} as const);

export const TRAILER_BYTES = Object.freeze({
  nonce: 6,
  neighborDiscovery: 6,
  randomPort: 4,
  /** Type, Length, reserved: then 6 bytes per entry. */
  alternateAddressHeader: 4,
  alternateAddressEntry: 6,
} as const);

/** [MS-TERE] 2.2.2: 1 to 4 entries, so Length is 8, 14, 20 or 26. */
export const ALTERNATE_ADDRESS_MAX_ENTRIES = 4;
/** The longest Alternate Address trailer. */
export const ALTERNATE_ADDRESS_MAX_BYTES =
  TRAILER_BYTES.alternateAddressHeader + ALTERNATE_ADDRESS_MAX_ENTRIES * TRAILER_BYTES.alternateAddressEntry;

export const DISCOVERY_TYPE = Object.freeze({ solicitation: 0, advertisement: 1 } as const);

/** What the trailers of one datagram said. Reuse one record per receive loop. */
export interface Trailers {
  hasNonce: boolean;
  nonce: number;
  hasAlternateAddress: boolean;
  /** Valid entries of the Alternate Address trailer, in order (0 .. 4). */
  alternateCount: number;
  readonly alternateIPv4: Uint32Array;
  readonly alternatePort: Uint16Array;
  hasNeighborDiscovery: boolean;
  discoveryType: number;
  hasRandomPort: boolean;
  randomPort: number;
  /** Trailers of a type we do not know, skipped. */
  unknown: number;
  /** Known types with a wrong Length or value, skipped. */
  malformed: number;
  /** A second trailer of a type already seen, skipped. */
  duplicate: number;
  /** Alternate Address entries refused (not a unicast IPv4, port 0). */
  refusedEntries: number;
  /** The last trailer ran past the end of the datagram (or 1 stray byte): the walk stopped. */
  truncated: boolean;
}

export function createTrailers(): Trailers {
  return {
    hasNonce: false,
    nonce: 0,
    hasAlternateAddress: false,
    alternateCount: 0,
    alternateIPv4: new Uint32Array(ALTERNATE_ADDRESS_MAX_ENTRIES),
    alternatePort: new Uint16Array(ALTERNATE_ADDRESS_MAX_ENTRIES),
    hasNeighborDiscovery: false,
    discoveryType: 0,
    hasRandomPort: false,
    randomPort: 0,
    unknown: 0,
    malformed: 0,
    duplicate: 0,
    refusedEntries: 0,
    truncated: false,
  };
}

export function resetTrailers(out: Trailers): void {
  out.hasNonce = false;
  out.nonce = 0;
  out.hasAlternateAddress = false;
  out.alternateCount = 0;
  out.alternateIPv4.fill(0);
  out.alternatePort.fill(0);
  out.hasNeighborDiscovery = false;
  out.discoveryType = 0;
  out.hasRandomPort = false;
  out.randomPort = 0;
  out.unknown = 0;
  out.malformed = 0;
  out.duplicate = 0;
  out.refusedEntries = 0;
  out.truncated = false;
}

/**
 * [MS-TERE] 2.2.2: an entry's address MUST be a valid unicast address. Refused: 0/8, 127/8,
 * 224/4 (multicast) and 240/4 (reserved, the limited broadcast included).
 */
export function isUnicastIPv4(ipv4: number): boolean {
  const first = ipv4 >>> 24;
  return first !== 0 && first !== 127 && first < 224;
}

function readAlternateAddress(bytes: Uint8Array, value: number, length: number, out: Trailers): boolean {
  const entries = (length - 2) / TRAILER_BYTES.alternateAddressEntry;
  if (!Number.isInteger(entries) || entries < 1 || entries > ALTERNATE_ADDRESS_MAX_ENTRIES) return false;
  out.hasAlternateAddress = true;
  for (let i = 0; i < entries; i++) {
    const at = value + 2 + i * TRAILER_BYTES.alternateAddressEntry;
    const ipv4 = readU32(bytes, at);
    const port = readU16(bytes, at + 4);
    if (!isUnicastIPv4(ipv4) || port === 0) {
      out.refusedEntries++;
      continue;
    }
    out.alternateIPv4[out.alternateCount] = ipv4;
    out.alternatePort[out.alternateCount] = port;
    out.alternateCount++;
  }
  return true;
}

/** One known trailer's value at bytes[value, value + length): false when malformed. */
function readKnown(type: number, bytes: Uint8Array, value: number, length: number, out: Trailers): boolean {
  switch (type) {
    case TRAILER_TYPE.nonce:
      if (length !== 4) return false;
      out.hasNonce = true;
      out.nonce = readU32(bytes, value);
      return true;
    case TRAILER_TYPE.alternateAddress:
      return readAlternateAddress(bytes, value, length, out);
    case TRAILER_TYPE.neighborDiscovery: {
      const discovery = bytes[value]!;
      if (length !== 4 || discovery > DISCOVERY_TYPE.advertisement) return false;
      out.hasNeighborDiscovery = true;
      out.discoveryType = discovery;
      return true;
    }
    default: {
      const port = readU16(bytes, value);
      if (length !== 2 || port === 0) return false;
      out.hasRandomPort = true;
      out.randomPort = port;
      return true;
    }
  }
}

function seen(type: number, out: Trailers): boolean {
  switch (type) {
    case TRAILER_TYPE.nonce:
      return out.hasNonce;
    case TRAILER_TYPE.alternateAddress:
      return out.hasAlternateAddress;
    case TRAILER_TYPE.neighborDiscovery:
      return out.hasNeighborDiscovery;
    default:
      return out.hasRandomPort;
  }
}

function isKnown(type: number): boolean {
  return (
    type === TRAILER_TYPE.nonce ||
    type === TRAILER_TYPE.alternateAddress ||
    type === TRAILER_TYPE.neighborDiscovery ||
    type === TRAILER_TYPE.randomPort
  );
}

/**
 * Walks the trailers in bytes[offset, offset + length) (cut to the buffer) into `out`, reset
 * first. Returns the number of trailers accepted. Never throws.
 */
export function parseTrailers(bytes: Uint8Array, offset: number, length: number, out: Trailers): number {
  resetTrailers(out);
  if (!Number.isInteger(offset) || offset < 0 || offset > bytes.length) return 0;
  const end = offset + Math.max(0, Math.min(Math.trunc(length) || 0, bytes.length - offset));
  let at = offset;
  let accepted = 0;
  while (at < end) {
    if (end - at < 2) {
      out.truncated = true;
      break;
    }
    const type = bytes[at]!;
    const valueLength = bytes[at + 1]!;
    const value = at + 2;
    if (value + valueLength > end) {
      out.truncated = true;
      break;
    }
    at = value + valueLength;
    if (!isKnown(type)) out.unknown++;
    else if (seen(type, out)) out.duplicate++;
    else if (readKnown(type, bytes, value, valueLength, out)) accepted++;
    else out.malformed++;
  }
  return accepted;
}

/** Writes a Nonce trailer (6 bytes) and returns its length. */
export function writeNonceTrailer(out: Uint8Array, offset: number, nonce: number): number {
  if (!Number.isInteger(nonce) || nonce < 0 || nonce > 0xffffffff) throw new RangeError(`nonce ${nonce}`);
  assertRoom(out, offset, TRAILER_BYTES.nonce, 'nonce trailer');
  out[offset] = TRAILER_TYPE.nonce;
  out[offset + 1] = 4;
  writeU32(out, offset + 2, nonce);
  return TRAILER_BYTES.nonce;
}

export interface AlternateAddress {
  readonly ipv4: number;
  readonly port: number;
}

/** Writes an Alternate Address trailer (1 to 4 unicast entries, ports not 0) and returns its length. */
export function writeAlternateAddressTrailer(
  out: Uint8Array,
  offset: number,
  entries: readonly AlternateAddress[],
): number {
  if (entries.length < 1 || entries.length > ALTERNATE_ADDRESS_MAX_ENTRIES) {
    throw new RangeError(`an Alternate Address trailer has 1 to 4 entries, got ${entries.length}`);
  }
  for (const { ipv4, port } of entries) {
    if (!Number.isInteger(ipv4) || ipv4 < 0 || ipv4 > 0xffffffff || !isUnicastIPv4(ipv4))
      throw new RangeError(`alternate address ${ipv4} is not a unicast IPv4`);
    if (!Number.isInteger(port) || port < 1 || port > 0xffff) throw new RangeError(`alternate port ${port}`);
  }
  const length = TRAILER_BYTES.alternateAddressHeader + entries.length * TRAILER_BYTES.alternateAddressEntry;
  assertRoom(out, offset, length, 'alternate address trailer');
  out[offset] = TRAILER_TYPE.alternateAddress;
  out[offset + 1] = length - 2;
  out[offset + 2] = 0;
  out[offset + 3] = 0;
  let at = offset + TRAILER_BYTES.alternateAddressHeader;
  for (const { ipv4, port } of entries) {
    writeU32(out, at, ipv4);
    writeU16(out, at + 4, port);
    at += TRAILER_BYTES.alternateAddressEntry;
  }
  return length;
}

/** Writes a Neighbor Discovery Option trailer (6 bytes, zero padding) and returns its length. */
export function writeNeighborDiscoveryTrailer(
  out: Uint8Array,
  offset: number,
  discoveryType: number,
): number {
  if (discoveryType !== DISCOVERY_TYPE.solicitation && discoveryType !== DISCOVERY_TYPE.advertisement) {
    throw new RangeError(`discovery type ${discoveryType}`);
  }
  assertRoom(out, offset, TRAILER_BYTES.neighborDiscovery, 'neighbor discovery trailer');
  out[offset] = TRAILER_TYPE.neighborDiscovery;
  out[offset + 1] = 4;
  out[offset + 2] = discoveryType;
  out[offset + 3] = 0;
  out[offset + 4] = 0;
  out[offset + 5] = 0;
  return TRAILER_BYTES.neighborDiscovery;
}

/** Writes a Random Port trailer (4 bytes) and returns its length. */
export function writeRandomPortTrailer(out: Uint8Array, offset: number, port: number): number {
  if (!Number.isInteger(port) || port < 1 || port > 0xffff) throw new RangeError(`random port ${port}`);
  assertRoom(out, offset, TRAILER_BYTES.randomPort, 'random port trailer');
  out[offset] = TRAILER_TYPE.randomPort;
  out[offset + 1] = 2;
  writeU16(out, offset + 2, port);
  return TRAILER_BYTES.randomPort;
}
