/**
 * Our server relays an indirect bubble's RFC 6081 trailers intact (the extensions need it): the
 * forwarded datagram is the origin indication, then the bubble and its trailers byte for byte.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { encodeTeredoAddress } from '../../../src/teredo/address.js';
import { buildBubble } from '../../../src/teredo/bubble.js';
import {
  createServerAction,
  createServerProcessor,
  SERVER_ACTION_SEND_UDP,
} from '../../../src/teredo/server.js';
import {
  writeAlternateAddressTrailer,
  writeNonceTrailer,
  writeRandomPortTrailer,
} from '../../../src/teredo/trailers.js';
import { writeOriginIndication } from '../../../src/teredo/wire.js';
import { hexOf } from './fixtures.js';
import { serverParams } from './server-datagrams.js';

const SERVER = 0xc6336401;
const PUBLIC = 0xcb007105;

it('an indirect bubble with every trailer is relayed with its trailers intact', () => {
  const destination = encodeTeredoAddress({
    prefix: 0x20010000,
    server: SERVER,
    flags: 0,
    port: 40001,
    client: PUBLIC,
  });
  const source = Uint8Array.from([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 9, 9, 9, 9, 9, 9, 9, 9]);
  const datagram = new Uint8Array(128);
  let length = buildBubble(datagram, 0, { source, destination });
  length += writeNonceTrailer(datagram, length, 0x01020304);
  length += writeAlternateAddressTrailer(datagram, length, [
    { ipv4: 0x0a000002, port: 20001 },
    { ipv4: 0x0a000003, port: 20002 },
    { ipv4: 0x0a000004, port: 20003 },
    { ipv4: 0x0a000005, port: 20004 },
  ]);
  length += writeRandomPortTrailer(datagram, length, 40002);
  const server = createServerProcessor(serverParams({ primaryIPv4: SERVER, secondaryIPv4: SERVER + 1 }));
  const out = new Uint8Array(256);
  const action = createServerAction();
  server.process(datagram, 0, length, PUBLIC, 40000, 0, 0, out, 0, action);
  assert.equal(action.kind, SERVER_ACTION_SEND_UDP);
  assert.deepEqual([action.ipv4, action.port], [PUBLIC, 40001]);
  const expected = new Uint8Array(8 + length);
  writeOriginIndication(expected, 0, 40000, PUBLIC);
  expected.set(datagram.subarray(0, length), 8);
  assert.equal(hexOf(out.subarray(0, action.length)), hexOf(expected));
});
