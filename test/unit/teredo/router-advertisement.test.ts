import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defineConstants } from '../../../src/teredo/constants.js';
import {
  buildRouterAdvertisement,
  createRouterAdvertisement,
  parseRouterAdvertisement,
  ROUTER_ADVERTISEMENT_DATAGRAM_BYTES,
  verifyIcmpv6Checksum,
} from '../../../src/teredo/icmpv6.js';
import type { RouterAdvertisement, RouterAdvertisementOptions } from '../../../src/teredo/icmpv6.js';
import { createTeredoPayload, parseTeredoPayload } from '../../../src/teredo/wire.js';
import type { TeredoPayload } from '../../../src/teredo/wire.js';
import {
  bytesOf,
  CONE_LL,
  hexOf,
  MAPPED_IPV4,
  MAPPED_PORT,
  NONCE,
  RESTRICTED_LL,
  SERVER_IPV4,
} from './fixtures.js';

// Reference 4.4, server 198.51.100.1 answering an RS from 203.0.113.5:40000 (checksum checked with tshark).
const RA_HEX = `
  0001 00 00 0102030405060708 00
  0000 63bf 34ff8efa
  60000000 0038 3a ff
  fe800000000000008000f22739cc9bfe
  fe800000000000000000ffffffffffff
  86 00 954c 00 00 0000 00000000 000007d0
  03 04 40 40 ffffffff ffffffff 00000000 20010000c6336401 0000000000000000
  05 01 0000 00000500`;

const STANDARD_FIELDS = {
  nonce: NONCE,
  originPort: MAPPED_PORT,
  originIPv4: MAPPED_IPV4,
  destination: RESTRICTED_LL,
  serverIPv4: SERVER_IPV4,
};

function parse(
  datagram: Uint8Array,
  options?: RouterAdvertisementOptions,
): { verdict: string; ra: RouterAdvertisement; payload: TeredoPayload } {
  const payload = createTeredoPayload();
  const ra = createRouterAdvertisement();
  const wire = parseTeredoPayload(datagram, datagram.length, payload);
  if (wire !== 'ok') return { verdict: `wire:${wire}`, ra, payload };
  return { verdict: parseRouterAdvertisement(datagram, payload, ra, options), ra, payload };
}

test('Router Advertisement is byte exact (117 bytes)', () => {
  const out = new Uint8Array(120).fill(0xee);
  const length = buildRouterAdvertisement(out, 1, STANDARD_FIELDS);
  assert.equal(length, 117);
  assert.equal(ROUTER_ADVERTISEMENT_DATAGRAM_BYTES, 117);
  assert.equal(hexOf(out.subarray(1, 118)), hexOf(bytesOf(RA_HEX)));
  assert.equal(out[0], 0xee);
  assert.equal(out[118], 0xee);
  assert.equal(verifyIcmpv6Checksum(out, 1 + 21), true);
});

test('without a nonce the RA carries no authentication header', () => {
  const out = new Uint8Array(117);
  const { nonce: _nonce, ...fields } = STANDARD_FIELDS;
  assert.equal(buildRouterAdvertisement(out, 0, fields), 104);
  assert.equal(hexOf(out.subarray(0, 104)), hexOf(bytesOf(RA_HEX).subarray(13)));
});

test('prefix, MTU and destination follow the fields', () => {
  const out = new Uint8Array(117);
  buildRouterAdvertisement(out, 0, {
    ...STANDARD_FIELDS,
    destination: CONE_LL,
    prefix: 0x3ffe831f,
    mtu: 1400,
  });
  const { verdict, ra } = parse(out, { cone: true });
  assert.equal(verdict, 'ok');
  assert.equal(ra.prefix, 0x20010000, 'obsolete prefix mapped');
  assert.equal(ra.mtu, 1400);
  assert.equal(verifyIcmpv6Checksum(out, 21), true);
});

test('a built RA parses back to prefix, server, MTU and mapping', () => {
  const { verdict, ra, payload } = parse(bytesOf(RA_HEX));
  assert.equal(verdict, 'ok');
  assert.deepEqual(ra, {
    prefix: 0x20010000,
    serverIPv4: SERVER_IPV4,
    mtu: 1280,
    originPort: MAPPED_PORT,
    originIPv4: MAPPED_IPV4,
  });
  assert.equal(payload.confirmation, 0);
});

test('buildRouterAdvertisement refuses a short buffer', () => {
  assert.throws(() => buildRouterAdvertisement(new Uint8Array(116), 0, STANDARD_FIELDS), RangeError);
});

// Hand-made RAs for every rule of teredo_parse_ra (reference 4.6 step 3).

function prefixOption(prefix: number, server: number, prefixLength = 64, units = 4): Uint8Array {
  const option = new Uint8Array(units * 8);
  option.set([3, units, prefixLength, 0x40]);
  const view = new DataView(option.buffer);
  if (units >= 4) {
    view.setUint32(16, prefix);
    view.setUint32(20, server);
  }
  return option;
}

function mtuOption(mtu: number): Uint8Array {
  const option = new Uint8Array(8);
  option.set([5, 1]);
  new DataView(option.buffer).setUint32(4, mtu);
  return option;
}

interface Craft {
  readonly origin?: boolean;
  readonly originIPv4?: number;
  readonly destination?: Uint8Array;
  readonly nextHeader?: number;
  readonly type?: number;
  readonly code?: number;
  readonly headerBytes?: number;
  readonly options?: readonly Uint8Array[];
}

function craft(spec: Craft): Uint8Array {
  const options = spec.options ?? [prefixOption(0x20010000, SERVER_IPV4), mtuOption(1280)];
  const message = [
    spec.type ?? 134,
    spec.code ?? 0,
    ...new Array<number>((spec.headerBytes ?? 16) - 2).fill(0),
  ];
  for (const option of options) message.push(...option);
  const bytes: number[] = [0, 1, 0, 0, ...NONCE, 0];
  if (spec.origin !== false) {
    const ipv4 = ~(spec.originIPv4 ?? MAPPED_IPV4) >>> 0;
    bytes.push(0, 0, 0x63, 0xbf, ipv4 >>> 24, (ipv4 >>> 16) & 0xff, (ipv4 >>> 8) & 0xff, ipv4 & 0xff);
  }
  bytes.push(0x60, 0, 0, 0, message.length >>> 8, message.length & 0xff, spec.nextHeader ?? 58, 255);
  bytes.push(
    ...bytesOf('fe800000000000008000f22739cc9bfe'),
    ...(spec.destination ?? RESTRICTED_LL),
    ...message,
  );
  return Uint8Array.from(bytes);
}

test('the hand-made baseline is accepted', () => {
  const { verdict, ra } = parse(craft({}));
  assert.equal(verdict, 'ok');
  assert.equal(ra.serverIPv4, SERVER_IPV4);
});

test('RA rules: origin, destination, protocol, type and code', () => {
  const cases: ReadonlyArray<readonly [string, Craft, string, RouterAdvertisementOptions?]> = [
    ['no origin indication', { origin: false }, 'no-origin'],
    ['origin IPv4 0.0.0.0', { originIPv4: 0 }, 'no-origin'],
    ['sent to the cone LL', { destination: CONE_LL }, 'wrong-destination'],
    ['sent to the restricted LL while expecting cone', {}, 'wrong-destination', { cone: true }],
    ['sent to the cone LL while expecting cone', { destination: CONE_LL }, 'ok', { cone: true }],
    ['next header UDP', { nextHeader: 17 }, 'not-icmpv6'],
    ['RA header of 15 bytes, no options', { headerBytes: 15, options: [] }, 'icmpv6-truncated'],
    ['type 133', { type: 133 }, 'not-router-advertisement'],
    ['code 1', { code: 1 }, 'not-router-advertisement'],
  ];
  for (const [name, spec, reason, options] of cases)
    assert.equal(parse(craft(spec), options).verdict, reason, name);
});

test('RA rules: option walking', () => {
  const prefix = prefixOption(0x20010000, SERVER_IPV4);
  const cases: ReadonlyArray<readonly [string, readonly Uint8Array[], string]> = [
    ['option length 0', [prefix, bytesOf('0100000000000000')], 'bad-option-length'],
    ['option overruns the message', [prefix, bytesOf('0102000000000000')], 'option-overrun'],
    ['prefix option of 24 bytes', [prefixOption(0, 0, 64, 3)], 'bad-prefix-option'],
    ['prefix length 48', [prefixOption(0x20010000, SERVER_IPV4, 48)], 'bad-prefix-length'],
    ['two prefixes', [prefix, prefixOption(0x20010000, 0xc0000201)], 'multiple-prefixes'],
    ['MTU 1279', [prefix, mtuOption(1279)], 'bad-mtu'],
    ['MTU 65536', [prefix, mtuOption(65536)], 'bad-mtu'],
    ['no prefix option', [mtuOption(1280)], 'no-prefix'],
    ['no options at all', [], 'no-prefix'],
    ['multicast prefix', [prefixOption(0xff020000, SERVER_IPV4)], 'multicast-prefix'],
  ];
  for (const [name, options, reason] of cases) assert.equal(parse(craft({ options })).verdict, reason, name);
});

test('RA rules: what is accepted', () => {
  const prefix = prefixOption(0x20010000, SERVER_IPV4);
  const sourceLinkLayer = bytesOf('0101aabbccddeeff');
  const accepted: ReadonlyArray<readonly [string, readonly Uint8Array[], number, number]> = [
    ['no MTU option: 1280', [prefix], 0x20010000, 1280],
    ['MTU 1280', [prefix, mtuOption(1280)], 0x20010000, 1280],
    ['MTU 65535', [mtuOption(65535), prefix], 0x20010000, 65535],
    [
      'unknown options skipped',
      [sourceLinkLayer, prefix, bytesOf('1902' + '00'.repeat(14))],
      0x20010000,
      1280,
    ],
    ['obsolete prefix mapped', [prefixOption(0x3ffe831f, SERVER_IPV4)], 0x20010000, 1280],
    ['other prefix kept', [prefixOption(0x20010db8, SERVER_IPV4)], 0x20010db8, 1280],
    ['tail shorter than an option ignored', [prefix, bytesOf('00000000')], 0x20010000, 1280],
    ['longer prefix option', [prefixOption(0x20010000, SERVER_IPV4, 64, 5)], 0x20010000, 1280],
  ];
  for (const [name, options, expectedPrefix, expectedMtu] of accepted) {
    const { verdict, ra } = parse(craft({ options }));
    assert.equal(verdict, 'ok', name);
    assert.equal(ra.prefix, expectedPrefix, name);
    assert.equal(ra.serverIPv4, SERVER_IPV4, name);
    assert.equal(ra.mtu, expectedMtu, name);
  }
});

test('the RA parser clears its record on a drop and honours constants overrides', () => {
  const ra = createRouterAdvertisement();
  const payload = createTeredoPayload();
  const good = bytesOf(RA_HEX);
  assert.equal(parseTeredoPayload(good, good.length, payload), 'ok');
  assert.equal(parseRouterAdvertisement(good, payload, ra), 'ok');
  const bad = craft({ type: 1 });
  assert.equal(parseTeredoPayload(bad, bad.length, payload), 'ok');
  assert.equal(parseRouterAdvertisement(bad, payload, ra), 'not-router-advertisement');
  assert.deepEqual(ra, { prefix: 0, serverIPv4: 0, mtu: 0, originPort: 0, originIPv4: 0 });

  const constants = defineConstants({ defaultMtu: 1400, minMtu: 1300 });
  const noMtu = craft({ options: [prefixOption(0x20010000, SERVER_IPV4)] });
  assert.equal(parse(noMtu, { constants }).ra.mtu, 1400);
  assert.equal(
    parse(craft({ options: [prefixOption(0x20010000, 1), mtuOption(1290)] }), { constants }).verdict,
    'bad-mtu',
  );
});

test('a payload record that does not fit the buffer is a drop, not an exception', () => {
  const ra = createRouterAdvertisement();
  const payload = createTeredoPayload();
  payload.hasOrigin = true;
  payload.originIPv4 = 1;
  payload.ipv6Offset = 100;
  payload.ipv6Length = 96;
  assert.equal(parseRouterAdvertisement(bytesOf(RA_HEX), payload, ra), 'ipv6-truncated');
  payload.ipv6Offset = -1;
  assert.equal(parseRouterAdvertisement(bytesOf(RA_HEX), payload, ra), 'ipv6-truncated');
});
