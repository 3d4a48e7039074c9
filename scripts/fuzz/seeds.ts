/**
 * Valid datagrams and packets to start mutating from, built with the core's own builders, each
 * prefixed with its outer source (IPv4 and port, 6 bytes) where the entry point takes one.
 */
import { clientLinkLocal, encodeTeredoAddress, parseIPv6 } from '../../src/teredo/address.js';
import { UNREACHABLE_CODE } from '../../src/teredo/constants.js';
import {
  buildBubble,
  buildDestinationUnreachable,
  buildEcho,
  buildRouterAdvertisement,
  buildRouterSolicitation,
} from '../../src/teredo/icmpv6.js';
import { writeIPv6Header } from '../../src/teredo/ipv6-header.js';
import { writeAuthHeader, writeOriginIndication } from '../../src/teredo/wire.js';

export const PREFIX = 0x20010000;
export const SERVER_IPV4 = 0xc6336401; // 198.51.100.1
export const SERVER_IPV4_2 = 0xc6336402;
export const MAPPED_IPV4 = 0xcb007105; // 203.0.113.5
export const MAPPED_PORT = 40000;
export const PEER_IPV4 = 0xcb00714d; // 203.0.113.77
export const PEER_PORT = 50000;
export const RELAY_IPV4 = 0xc6336465; // 198.51.100.101
export const TEREDO_PORT = 3544;
export const NONCE = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);

function address(text: string): Uint8Array {
  const bytes = parseIPv6(text);
  if (bytes === null) throw new Error(`bad IPv6 literal ${text}`);
  return bytes;
}

export const CLIENT_ADDRESS = encodeTeredoAddress({
  prefix: PREFIX,
  server: SERVER_IPV4,
  flags: 0,
  port: MAPPED_PORT,
  client: MAPPED_IPV4,
});
export const PEER_ADDRESS = encodeTeredoAddress({
  prefix: PREFIX,
  server: SERVER_IPV4,
  flags: 0x0123,
  port: PEER_PORT,
  client: PEER_IPV4,
});
export const NATIVE_ADDRESS = address('2001:db8::1');

function built(write: (out: Uint8Array) => number): Uint8Array {
  const out = new Uint8Array(2048);
  return out.slice(0, write(out));
}

export function ipv6Packet(source: Uint8Array, destination: Uint8Array, payload: Uint8Array): Uint8Array {
  const packet = new Uint8Array(40 + payload.length);
  writeIPv6Header(packet, 0, {
    payloadLength: payload.length,
    nextHeader: 17,
    hopLimit: 64,
    source,
    destination,
  });
  packet.set(payload, 40);
  return packet;
}

const withOrigin = (packet: Uint8Array, port: number, ipv4: number): Uint8Array =>
  built((out) => {
    const at = writeOriginIndication(out, 0, port, ipv4);
    out.set(packet, at);
    return at + packet.length;
  });

const withAuth = (packet: Uint8Array, confirmation = 0): Uint8Array =>
  built((out) => {
    const at = writeAuthHeader(out, 0, { nonce: NONCE, confirmation });
    out.set(packet, at);
    return at + packet.length;
  });

/** The 6-byte source prefix used by the UDP targets, then the datagram. */
export function fromSource(ipv4: number, port: number, datagram: Uint8Array): Uint8Array {
  const input = new Uint8Array(6 + datagram.length);
  new DataView(input.buffer).setUint32(0, ipv4 >>> 0);
  new DataView(input.buffer).setUint16(4, port);
  input.set(datagram, 6);
  return input;
}

export function sourceOf(input: Uint8Array): { ipv4: number; port: number; offset: number } {
  if (input.length < 6) return { ipv4: 0, port: 0, offset: input.length };
  const view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  return { ipv4: view.getUint32(0), port: view.getUint16(4), offset: 6 };
}

/** Datagrams a client or relay receives, with plausible sources. */
export function tunnelDatagrams(): Uint8Array[] {
  const echoToClient = built((out) =>
    buildEcho(out, 0, {
      kind: 'request',
      source: NATIVE_ADDRESS,
      destination: CLIENT_ADDRESS,
      hopLimit: 64,
      identifier: 1,
      sequence: 2,
      data: Uint8Array.from([9, 9, 9, 9]),
    }),
  );
  const echoFromPeer = built((out) =>
    buildEcho(out, 0, {
      kind: 'reply',
      source: PEER_ADDRESS,
      destination: CLIENT_ADDRESS,
      hopLimit: 64,
      identifier: 1,
      sequence: 2,
      data: Uint8Array.from([1, 2, 3]),
    }),
  );
  const unreachable = built((out) => {
    const result = buildDestinationUnreachable(out, 0, {
      code: UNREACHABLE_CODE.addressUnreachable,
      source: NATIVE_ADDRESS,
      offending: echoToClient,
    });
    return result.kind === 'built' ? result.length : 0;
  });
  const ra = built((out) =>
    buildRouterAdvertisement(out, 0, {
      nonce: NONCE,
      originPort: MAPPED_PORT,
      originIPv4: MAPPED_IPV4,
      destination: clientLinkLocal(false),
      serverIPv4: SERVER_IPV4,
    }),
  );
  const bubbleToClient = built((out) =>
    buildBubble(out, 0, { source: PEER_ADDRESS, destination: CLIENT_ADDRESS }),
  );
  const data = ipv6Packet(
    PEER_ADDRESS,
    CLIENT_ADDRESS,
    Uint8Array.from([0, 1, 0, 2, 0, 12, 0, 0, 5, 6, 7, 8]),
  );
  const toNative = ipv6Packet(
    PEER_ADDRESS,
    NATIVE_ADDRESS,
    Uint8Array.from([0, 1, 0, 2, 0, 12, 0, 0, 5, 6, 7, 8]),
  );
  return [
    fromSource(SERVER_IPV4, TEREDO_PORT, ra),
    fromSource(SERVER_IPV4, TEREDO_PORT, withOrigin(bubbleToClient, PEER_PORT, PEER_IPV4)),
    fromSource(SERVER_IPV4, TEREDO_PORT, withAuth(withOrigin(echoFromPeer, PEER_PORT, PEER_IPV4))),
    fromSource(PEER_IPV4, PEER_PORT, bubbleToClient),
    fromSource(PEER_IPV4, PEER_PORT, data),
    fromSource(PEER_IPV4, PEER_PORT, toNative),
    fromSource(RELAY_IPV4, TEREDO_PORT, echoToClient),
    fromSource(RELAY_IPV4, TEREDO_PORT, unreachable),
    fromSource(PEER_IPV4, PEER_PORT, Uint8Array.from([...data, 0x01, 0x01, 0xaa, 0xbb])),
  ];
}

/** IPv6 packets a client or relay reads from its TUN device. */
export function tunnelTunPackets(): Uint8Array[] {
  const udpPayload = Uint8Array.from([0, 1, 0, 2, 0, 12, 0, 0, 5, 6, 7, 8]);
  const echo = built((out) =>
    buildEcho(out, 0, {
      kind: 'request',
      source: CLIENT_ADDRESS,
      destination: NATIVE_ADDRESS,
      hopLimit: 64,
      identifier: 7,
      sequence: 1,
      data: Uint8Array.from([1, 2, 3, 4]),
    }),
  );
  return [
    ipv6Packet(CLIENT_ADDRESS, PEER_ADDRESS, udpPayload),
    ipv6Packet(NATIVE_ADDRESS, PEER_ADDRESS, udpPayload),
    ipv6Packet(CLIENT_ADDRESS, NATIVE_ADDRESS, udpPayload),
    ipv6Packet(address('fe80::1'), address('ff02::1'), udpPayload),
    echo,
  ];
}

/** Datagrams a Teredo server receives, prefixed with their source and a byte for the socket. */
export function serverDatagrams(): Uint8Array[] {
  const rs = (cone: boolean): Uint8Array =>
    built((out) => buildRouterSolicitation(out, 0, { nonce: NONCE, cone }));
  const toPeer = ipv6Packet(CLIENT_ADDRESS, PEER_ADDRESS, Uint8Array.from([0, 1, 0, 2, 0, 8, 0, 0]));
  const toNative = built((out) =>
    buildEcho(out, 0, {
      kind: 'request',
      source: CLIENT_ADDRESS,
      destination: NATIVE_ADDRESS,
      hopLimit: 64,
      identifier: 3,
      sequence: 4,
      data: Uint8Array.from([1]),
    }),
  );
  const socket = (index: number, input: Uint8Array): Uint8Array => Uint8Array.from([index, ...input]);
  return [
    socket(0, fromSource(MAPPED_IPV4, MAPPED_PORT, withAuth(rs(false)))),
    socket(1, fromSource(MAPPED_IPV4, MAPPED_PORT, withAuth(rs(true)))),
    socket(0, fromSource(MAPPED_IPV4, MAPPED_PORT, toPeer)),
    socket(0, fromSource(MAPPED_IPV4, MAPPED_PORT, toNative)),
    socket(
      0,
      fromSource(
        MAPPED_IPV4,
        MAPPED_PORT,
        built((out) => buildBubble(out, 0, { source: CLIENT_ADDRESS, destination: PEER_ADDRESS })),
      ),
    ),
  ];
}
