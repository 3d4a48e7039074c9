/** The rtnetlink request for a route in a table of its own (src/os/route-table.ts), byte by byte. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeTableRouteRequest } from '../../../src/os/route-table.js';
import { hex, ipv6Bytes } from '../../support/inet.js';

const ROUTE = { ifindex: 7, dst: ipv6Bytes('2001::'), prefixLen: 32, metric: 1024, table: 3544 };

test('RTM_NEWROUTE: create or replace, ack, IPv6 unicast, the table in RTA_TABLE', () => {
  const bytes = encodeTableRouteRequest(true, ROUTE, 9);
  const view = new DataView(bytes.buffer);
  assert.equal(view.getUint32(0, true), bytes.length);
  assert.equal(bytes.length, 16 + 12 + 20 + 8 + 8 + 8);
  assert.equal(view.getUint16(4, true), 24);
  assert.equal(view.getUint16(6, true), 0x1 | 0x4 | 0x100 | 0x400);
  assert.equal(view.getUint32(8, true), 9);
  // family 10, /32, no source, tos 0, table 252 (the real one is above 255), static, universe, unicast
  assert.equal(hex(bytes.subarray(16, 24)), '0a200000fc040001');
  assert.equal(view.getUint16(28, true), 20);
  assert.equal(view.getUint16(30, true), 1);
  assert.equal(hex(bytes.subarray(32, 48)), hex(ROUTE.dst));
  assert.deepEqual(
    [52, 60, 68].map((offset) => [view.getUint16(offset - 2, true), view.getUint32(offset, true)]),
    [
      [4, 7],
      [6, 1024],
      [15, 3544],
    ],
  );
});

test('RTM_DELROUTE has no create flags; a table below 256 sits in the header too', () => {
  const bytes = encodeTableRouteRequest(false, { ...ROUTE, table: 100 }, 1);
  const view = new DataView(bytes.buffer);
  assert.equal(view.getUint16(4, true), 25);
  assert.equal(view.getUint16(6, true), 0x1 | 0x4);
  assert.equal(bytes[20], 100);
  assert.throws(() => encodeTableRouteRequest(true, { ...ROUTE, dst: new Uint8Array(5) }, 1), RangeError);
});

test('a 4-byte destination is an IPv4 route (SharedRelayAddress: the relay address /32)', () => {
  const dst = Uint8Array.from([198, 51, 100, 90]);
  const bytes = encodeTableRouteRequest(true, { ...ROUTE, dst, prefixLen: 32 }, 2);
  const view = new DataView(bytes.buffer);
  assert.equal(view.getUint32(0, true), bytes.length);
  assert.equal(bytes.length, 16 + 12 + 8 + 8 + 8 + 8);
  assert.equal(hex(bytes.subarray(16, 24)), '02200000fc040001');
  assert.equal(view.getUint16(28, true), 8);
  assert.equal(view.getUint16(30, true), 1);
  assert.equal(hex(bytes.subarray(32, 36)), 'c633645a');
});
