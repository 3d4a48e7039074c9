import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RTM, scanRouteMessages } from '../../../src/os/netlink-route.js';

/** One netlink message in host byte order (little-endian here, as on every machine we run on). */
function message(type: number, body: readonly number[]): number[] {
  const length = 16 + body.length;
  const out = [...u32(length), ...u16(type), ...u16(0), ...u32(0), ...u32(0), ...body];
  while (out.length % 4 !== 0) out.push(0);
  return out;
}
const u16 = (value: number): number[] => [value & 0xff, (value >>> 8) & 0xff];
const u32 = (value: number): number[] => [...u16(value & 0xffff), ...u16(value >>> 16)];
const ifinfo = (ifindex: number, flags: number, change: number): number[] => [
  0,
  0,
  ...u16(1),
  ...u32(ifindex),
  ...u32(flags),
  ...u32(change),
];
const ifaddr = (family: number, scope: number, ifindex: number): number[] => [
  family,
  24,
  0,
  scope,
  ...u32(ifindex),
];
/** rtmsg then RTA_OIF. */
const rtmsg = (family: number, dstLength: number, type: number, oif: number): number[] => [
  family,
  dstLength,
  0,
  0,
  254,
  4,
  0,
  type,
  ...u32(0),
  ...u16(8),
  ...u16(4),
  ...u32(oif),
];
const UP = 0x1 | 0x40 | 0x10000;
const scan = (bytes: readonly number[], ignored = (_: number) => false) =>
  scanRouteMessages(Uint8Array.from(bytes), bytes.length, ignored);

test('link up and down, IPv4 addresses, default routes: one change each, in order', () => {
  const result = scan([
    ...message(RTM.NEWLINK, ifinfo(2, 0, UP)),
    ...message(RTM.NEWLINK, ifinfo(2, UP, UP)),
    ...message(RTM.NEWADDR, ifaddr(2, 0, 2)),
    ...message(RTM.DELADDR, ifaddr(2, 0, 2)),
    ...message(RTM.NEWROUTE, rtmsg(2, 0, 1, 2)),
    ...message(RTM.DELROUTE, rtmsg(2, 0, 1, 3)),
    ...message(RTM.DELLINK, ifinfo(5, 0, 0)),
  ]);
  assert.deepEqual(result, {
    changes: [
      { kind: 'link', ifindex: 2, added: false },
      { kind: 'link', ifindex: 2, added: true },
      { kind: 'address', ifindex: 2, added: true },
      { kind: 'address', ifindex: 2, added: false },
      { kind: 'default-route', ifindex: 2, added: true },
      { kind: 'default-route', ifindex: 3, added: false },
      { kind: 'link', ifindex: 5, added: false },
    ],
    malformed: 0,
    overrun: false,
  });
});

test('what cannot move the uplink is left out: other link attributes, host scope, other routes, ignored interfaces', () => {
  const result = scan(
    [
      ...message(RTM.NEWLINK, ifinfo(2, UP, 0)),
      ...message(RTM.NEWADDR, ifaddr(2, 254, 1)),
      ...message(RTM.NEWADDR, ifaddr(10, 0, 2)),
      ...message(RTM.NEWROUTE, rtmsg(2, 24, 1, 2)),
      ...message(RTM.NEWROUTE, rtmsg(2, 0, 2, 2)),
      ...message(RTM.NEWLINK, ifinfo(9, 0, UP)),
      ...message(3, []),
    ],
    (ifindex) => ifindex === 9,
  );
  assert.deepEqual(result, { changes: [], malformed: 0, overrun: false });
});

test('overrun is reported; short bodies, bad lengths and a torn header are counted, never thrown', () => {
  assert.equal(scan(message(4, [])).overrun, true);
  assert.equal(scan(message(RTM.NEWLINK, [0, 0, 0, 0])).malformed, 1);
  assert.equal(scan(message(RTM.NEWADDR, [2])).malformed, 1);
  assert.equal(scan(message(RTM.NEWROUTE, [2, 0])).malformed, 1);
  assert.equal(
    scan([...u32(8), ...u16(RTM.NEWLINK), 0, 0, ...u32(0), ...u32(0)]).malformed,
    1,
    'length below the header',
  );
  assert.equal(
    scan([...u32(400), ...u16(RTM.NEWLINK), 0, 0, ...u32(0), ...u32(0)]).malformed,
    1,
    'length past the end',
  );
  assert.equal(
    scan([...message(RTM.NEWADDR, ifaddr(2, 0, 2)), 1, 2, 3]).malformed,
    1,
    'a torn header after a message',
  );
  assert.equal(scan([...message(RTM.NEWADDR, ifaddr(2, 0, 2)), 1, 2, 3]).changes.length, 1);
});

test('a route attribute running past the message leaves the interface unknown (0)', () => {
  const body = [2, 0, 0, 0, 254, 4, 0, 1, ...u32(0), ...u16(40), ...u16(4), ...u32(7)];
  assert.deepEqual(scan(message(RTM.NEWROUTE, body)).changes, [
    { kind: 'default-route', ifindex: 0, added: true },
  ]);
});

test('random bytes never throw, and the counts stay bounded by the bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 512 }), fc.nat(600), (bytes, length) => {
      const result = scanRouteMessages(bytes, length, () => false);
      assert.ok(result.changes.length <= Math.ceil(bytes.length / 16));
      assert.ok(result.malformed <= 2);
    }),
  );
});
