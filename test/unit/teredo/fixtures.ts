/** Shared test data for the Teredo core tests: hex helpers, addresses, and a corpus of valid datagrams. */
import { clientLinkLocal, encodeTeredoAddress, parseIPv6 } from '../../../src/teredo/address.js';
import { UNREACHABLE_CODE } from '../../../src/teredo/constants.js';
import {
  buildBubble,
  buildDestinationUnreachable,
  buildEcho,
  buildRouterAdvertisement,
  buildRouterSolicitation,
} from '../../../src/teredo/icmpv6.js';
import { writeAuthHeader, writeOriginIndication } from '../../../src/teredo/wire.js';

export function hexOf(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Bytes of a hex string; spaces, newlines and `|` separators are ignored. */
export function bytesOf(text: string): Uint8Array {
  const clean = text.replace(/[\s|]+/g, '');
  if (!/^(?:[0-9a-f]{2})*$/i.test(clean)) throw new Error(`bad hex: ${text}`);
  return Uint8Array.from(Buffer.from(clean, 'hex'));
}

export function address(text: string): Uint8Array {
  const bytes = parseIPv6(text);
  if (bytes === null) throw new Error(`bad IPv6 literal ${text}`);
  return bytes;
}

export const SERVER_IPV4 = 0xc6336401; // 198.51.100.1
export const MAPPED_IPV4 = 0xcb007105; // 203.0.113.5
export const MAPPED_PORT = 40000;
export const NONCE = bytesOf('0102030405060708');
export const RESTRICTED_LL = clientLinkLocal(false);
export const CONE_LL = clientLinkLocal(true);
/** 2001:0:c633:6401:0:63bf:34ff:8efa */
export const CLIENT_ADDRESS = encodeTeredoAddress({
  prefix: 0x20010000,
  server: SERVER_IPV4,
  flags: 0,
  port: MAPPED_PORT,
  client: MAPPED_IPV4,
});
export const NATIVE_ADDRESS = address('2001:db8::1');

/** An undersized copy of bytes[0, length). */
export function take(bytes: Uint8Array, length: number): Uint8Array {
  return bytes.slice(0, length);
}

function built(write: (out: Uint8Array) => number): Uint8Array {
  const out = new Uint8Array(2048);
  return out.slice(0, write(out));
}

/** One valid datagram (UDP payload) of every kind this core builds or parses, with a name. */
export function validDatagrams(): ReadonlyArray<{ readonly name: string; readonly bytes: Uint8Array }> {
  const echoRequest = built((out) =>
    buildEcho(out, 0, {
      kind: 'request',
      source: CLIENT_ADDRESS,
      destination: NATIVE_ADDRESS,
      hopLimit: 128,
      identifier: 0x1234,
      sequence: 0x5678,
      data: bytesOf('1234dc679fad9877d2dbfc29e1d920873900'),
    }),
  );
  const echoReply = built((out) =>
    buildEcho(out, 0, {
      kind: 'reply',
      source: NATIVE_ADDRESS,
      destination: CLIENT_ADDRESS,
      hopLimit: 64,
      identifier: 7,
      sequence: 9,
      data: bytesOf('00112233445566778899'),
    }),
  );
  const unreachable = built((out) => {
    const result = buildDestinationUnreachable(out, 0, {
      code: UNREACHABLE_CODE.addressUnreachable,
      source: CLIENT_ADDRESS,
      offending: echoRequest,
    });
    return result.kind === 'built' ? result.length : 0;
  });
  const bubble = built((out) => buildBubble(out, 0, { source: CONE_LL, destination: CLIENT_ADDRESS }));
  const withOrigin = (packet: Uint8Array): Uint8Array =>
    built((out) => {
      const at = writeOriginIndication(out, 0, MAPPED_PORT, MAPPED_IPV4);
      out.set(packet, at);
      return at + packet.length;
    });
  const withAuthAndOrigin = (packet: Uint8Array): Uint8Array =>
    built((out) => {
      let at = writeAuthHeader(out, 0, {
        nonce: NONCE,
        confirmation: 1,
        clientId: bytesOf('aabbcc'),
        authValue: bytesOf('0102030405'),
      });
      at += writeOriginIndication(out, at, 3544, SERVER_IPV4);
      out.set(packet, at);
      return at + packet.length;
    });
  const withTrailer = (packet: Uint8Array): Uint8Array =>
    Uint8Array.from([...packet, 0x01, 0x01, 0xaa, 0xbb]);

  return [
    { name: 'RS restricted', bytes: built((out) => buildRouterSolicitation(out, 0, { nonce: NONCE })) },
    { name: 'RS cone', bytes: built((out) => buildRouterSolicitation(out, 0, { nonce: NONCE, cone: true })) },
    {
      name: 'RA',
      bytes: built((out) =>
        buildRouterAdvertisement(out, 0, {
          nonce: NONCE,
          originPort: MAPPED_PORT,
          originIPv4: MAPPED_IPV4,
          destination: RESTRICTED_LL,
          serverIPv4: SERVER_IPV4,
        }),
      ),
    },
    {
      name: 'RA without auth, MTU 1400',
      bytes: built((out) =>
        buildRouterAdvertisement(out, 0, {
          originPort: MAPPED_PORT,
          originIPv4: MAPPED_IPV4,
          destination: RESTRICTED_LL,
          serverIPv4: SERVER_IPV4,
          mtu: 1400,
        }),
      ),
    },
    { name: 'bubble', bytes: bubble },
    { name: 'indirect bubble', bytes: withOrigin(bubble) },
    { name: 'echo request', bytes: echoRequest },
    { name: 'echo reply with auth and origin', bytes: withAuthAndOrigin(echoReply) },
    { name: 'unreachable', bytes: unreachable },
    { name: 'unreachable with trailer', bytes: withTrailer(withOrigin(unreachable)) },
  ];
}
