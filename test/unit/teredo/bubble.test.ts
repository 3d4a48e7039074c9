import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BUBBLE_BYTES, buildBubble, isBubbleAt, parseBubble } from '../../../src/teredo/icmpv6.js';
import { createTeredoPayload, parseTeredoPayload, writeOriginIndication } from '../../../src/teredo/wire.js';
import { bytesOf, CLIENT_ADDRESS, CONE_LL, hexOf, MAPPED_IPV4, MAPPED_PORT } from './fixtures.js';

test('a bubble is a bare IPv6 header: plen 0, next header 59, hop limit 0 (reference 4.4)', () => {
  const out = new Uint8Array(42).fill(0xee);
  assert.equal(buildBubble(out, 1, { source: CONE_LL, destination: CLIENT_ADDRESS }), BUBBLE_BYTES);
  assert.equal(
    hexOf(out),
    'ee' +
      '60000000' +
      '0000' +
      '3b' +
      '00' +
      'fe80000000000000800054455245444f' +
      hexOf(CLIENT_ADDRESS) +
      'ee',
  );
  assert.equal(parseBubble(out, 1, 40), 'ok');
});

test('a reply bubble swaps the addresses of the received one', () => {
  const received = new Uint8Array(40);
  buildBubble(received, 0, { source: CONE_LL, destination: CLIENT_ADDRESS });
  const reply = new Uint8Array(40);
  buildBubble(reply, 0, { source: received, sourceOffset: 24, destination: received, destinationOffset: 8 });
  assert.equal(hexOf(reply.subarray(8, 24)), hexOf(CLIENT_ADDRESS));
  assert.equal(hexOf(reply.subarray(24, 40)), hexOf(CONE_LL));
});

test('an indirect bubble (origin indication from the server) parses through the wire layer', () => {
  const datagram = new Uint8Array(48);
  writeOriginIndication(datagram, 0, MAPPED_PORT, MAPPED_IPV4);
  buildBubble(datagram, 8, { source: CONE_LL, destination: CLIENT_ADDRESS });
  const payload = createTeredoPayload();
  assert.equal(parseTeredoPayload(datagram, datagram.length, payload), 'ok');
  assert.equal(payload.originPort, MAPPED_PORT);
  assert.equal(payload.originIPv4, MAPPED_IPV4);
  assert.equal(parseBubble(datagram, payload.ipv6Offset, payload.ipv6Length), 'ok');
  assert.equal(isBubbleAt(datagram, payload.ipv6Offset), true);
});

test('what is and is not a bubble', () => {
  const bubble = new Uint8Array(40);
  buildBubble(bubble, 0, { source: CONE_LL, destination: CLIENT_ADDRESS });
  const withHopLimit = bubble.slice();
  withHopLimit[7] = 64;
  assert.equal(parseBubble(withHopLimit, 0, 40), 'ok', 'Miredo does not look at the hop limit');
  const withTrailer = Uint8Array.from([...bubble, 1, 2, 3]);
  assert.equal(parseBubble(withTrailer, 0, withTrailer.length), 'ok');

  const icmp = bubble.slice();
  icmp[6] = 58;
  assert.equal(parseBubble(icmp, 0, 40), 'not-bubble');
  const withPayload = Uint8Array.from([...bubble, 0, 0, 0, 0, 0, 0, 0, 0]);
  withPayload[5] = 8;
  assert.equal(parseBubble(withPayload, 0, 48), 'not-bubble');
  assert.equal(parseBubble(bubble, 0, 39), 'ipv6-truncated');
  assert.equal(parseBubble(bytesOf('45' + '00'.repeat(39)), 0, 40), 'not-ipv6');
  assert.equal(parseBubble(withPayload, 0, 44), 'ipv6-payload-truncated');
});

test('buildBubble refuses a short buffer', () => {
  assert.throws(
    () => buildBubble(new Uint8Array(39), 0, { source: CONE_LL, destination: CLIENT_ADDRESS }),
    RangeError,
  );
});
