/**
 * Robustness of every parser in src/teredo against hostile datagrams: over 100,000 random and
 * mutated inputs, no parser throws, every 'ok' record lies within the input, and every other
 * result is one of the parser's declared drop reasons.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  createTeredoAddressFields,
  decodeTeredoAddress,
  formatIPv6,
  isTeredoAt,
  parseIPv6,
  readTeredoAddressInto,
  teredoMappingMatchesAt,
} from '../../../src/teredo/address.js';
import { verifyUpperLayerChecksum } from '../../../src/teredo/checksum.js';
import { TEREDO_CONSTANTS } from '../../../src/teredo/constants.js';
import {
  BUBBLE_DROP_REASONS,
  buildDestinationUnreachable,
  checkIcmpv6Packet,
  createDestinationUnreachable,
  createEchoMessage,
  createRouterAdvertisement,
  createRouterSolicitation,
  DESTINATION_UNREACHABLE_DROP_REASONS,
  ECHO_DROP_REASONS,
  parseBubble,
  parseDestinationUnreachable,
  parseEcho,
  parseRouterAdvertisement,
  parseRouterSolicitation,
  ROUTER_ADVERTISEMENT_DROP_REASONS,
  ROUTER_SOLICITATION_DROP_REASONS,
  UNREACHABLE_REFUSALS,
  unreachableRefusal,
  verifyIcmpv6Checksum,
} from '../../../src/teredo/icmpv6.js';
import { formatIPv4, isGlobalUnicastIPv4, parseIPv4 } from '../../../src/teredo/ipv4.js';
import {
  checkIPv6Packet,
  createTeredoPayload,
  IPV6_DROP_REASONS,
  parseTeredoPayload,
  TEREDO_DROP_REASONS,
} from '../../../src/teredo/wire.js';
import type { TeredoPayload } from '../../../src/teredo/wire.js';
import { validDatagrams } from './fixtures.js';

const RANDOM_RUNS = 35_000;
const MUTATED_RUNS = 70_000;
const CORPUS = validDatagrams();

/** Verdicts seen per parser: proves the inputs reach both the 'ok' paths and the drop paths. */
const seen = new Map<string, Map<string, number>>();
let datagrams = 0;

function record(parser: string, verdict: string, allowed: readonly string[]): void {
  assert.ok(verdict === 'ok' || allowed.includes(verdict), `${parser} returned undeclared ${verdict}`);
  const counts = seen.get(parser) ?? new Map<string, number>();
  counts.set(verdict, (counts.get(verdict) ?? 0) + 1);
  seen.set(parser, counts);
}

function isU(value: number, bits: number): boolean {
  return Number.isInteger(value) && value >= 0 && value < 2 ** bits;
}

// Records reused across runs, as the data path does: stale contents must never leak.
const payload = createTeredoPayload();
const rs = createRouterSolicitation();
const ra = createRouterAdvertisement();
const echo = createEchoMessage();
const unreachable = createDestinationUnreachable();
const fields = createTeredoAddressFields();
const errorOut = new Uint8Array(1400);

function checkPayload(bytes: Uint8Array, start: number, end: number, p: TeredoPayload): void {
  assert.ok(p.ipv6Offset >= start && p.ipv6Length >= 40 && p.trailerLength >= 0);
  assert.equal(p.ipv6Offset + p.ipv6Length + p.trailerLength, end);
  assert.equal(bytes[p.ipv6Offset]! >>> 4, 6);
  assert.equal(p.ipv6Length, 40 + ((bytes[p.ipv6Offset + 4]! << 8) | bytes[p.ipv6Offset + 5]!));
  if (p.hasAuth) {
    assert.equal(p.authIdOffset, start + 4);
    assert.equal(p.authIdOffset + p.authIdLength, p.authValueOffset);
    assert.equal(p.authValueOffset + p.authValueLength, p.nonceOffset);
    assert.ok(p.nonceOffset + 9 <= p.ipv6Offset);
    assert.ok(isU(p.confirmation, 8));
  } else {
    assert.equal(p.nonceOffset, -1);
    assert.equal(p.authIdOffset, -1);
  }
  if (p.hasOrigin) {
    assert.ok(isU(p.originPort, 16) && isU(p.originIPv4, 32));
    assert.ok(p.ipv6Offset - 8 >= start);
  } else {
    assert.equal(p.originPort, 0);
    assert.equal(p.originIPv4, 0);
  }
}

/** Runs every IPv6-level parser on bytes[offset, offset + length), which may lie partly outside. */
function exerciseRegion(bytes: Uint8Array, offset: number, length: number): void {
  const within = offset >= 0 && offset + length <= bytes.length;
  const ipv6 = checkIPv6Packet(bytes, offset, length);
  record('checkIPv6Packet', ipv6, IPV6_DROP_REASONS);
  if (ipv6 === 'ok') assert.ok(within && length >= 40);

  const icmp = checkIcmpv6Packet(bytes, offset, length);
  record('checkIcmpv6Packet', icmp, [...IPV6_DROP_REASONS, 'not-icmpv6', 'icmpv6-truncated']);

  const bubble = parseBubble(bytes, offset, length);
  record('parseBubble', bubble, BUBBLE_DROP_REASONS);
  if (bubble === 'ok')
    assert.ok(within && bytes[offset + 4] === 0 && bytes[offset + 5] === 0 && bytes[offset + 6] === 59);

  const rsVerdict = parseRouterSolicitation(bytes, offset, length, rs);
  record('parseRouterSolicitation', rsVerdict, ROUTER_SOLICITATION_DROP_REASONS);
  if (rsVerdict === 'ok') assert.ok(within && bytes[offset + 40] === 133 && typeof rs.cone === 'boolean');
  else assert.equal(rs.cone, false);

  const echoVerdict = parseEcho(bytes, offset, length, echo);
  record('parseEcho', echoVerdict, ECHO_DROP_REASONS);
  if (echoVerdict === 'ok') {
    assert.ok(echo.kind === 'request' || echo.kind === 'reply');
    assert.ok(isU(echo.identifier, 16) && isU(echo.sequence, 16));
    assert.ok(echo.dataOffset === offset + 48 && echo.dataLength >= 0);
    assert.ok(echo.dataOffset + echo.dataLength <= offset + length && within);
  } else {
    assert.equal(echo.dataOffset, -1);
  }

  const unreachableVerdict = parseDestinationUnreachable(bytes, offset, length, unreachable);
  record('parseDestinationUnreachable', unreachableVerdict, DESTINATION_UNREACHABLE_DROP_REASONS);
  if (unreachableVerdict === 'ok') {
    assert.ok(isU(unreachable.code, 8) && unreachable.quotedLength >= 0);
    assert.ok(unreachable.quotedOffset === offset + 48);
    assert.ok(unreachable.quotedOffset + unreachable.quotedLength <= offset + length && within);
  }

  const checksumOk = verifyIcmpv6Checksum(bytes, offset);
  assert.equal(typeof checksumOk, 'boolean');
  assert.equal(typeof verifyUpperLayerChecksum(bytes, offset), 'boolean');

  const refusal = unreachableRefusal(bytes, offset, length);
  assert.ok(refusal === null || UNREACHABLE_REFUSALS.includes(refusal));
  const built = buildDestinationUnreachable(errorOut, 0, {
    code: 3,
    source: errorOut,
    sourceOffset: 1300,
    offending: bytes,
    offendingOffset: offset,
    offendingLength: length,
  });
  record('buildDestinationUnreachable', built.kind === 'built' ? 'ok' : built.reason, UNREACHABLE_REFUSALS);
  if (built.kind === 'built') {
    assert.ok(built.length >= 88 && built.length <= TEREDO_CONSTANTS.minMtu);
    assert.equal(parseDestinationUnreachable(errorOut, 0, built.length, unreachable), 'ok');
    assert.equal(verifyIcmpv6Checksum(errorOut, 0), true);
  }
}

function exerciseAddresses(bytes: Uint8Array, offset: number): void {
  const decoded = decodeTeredoAddress(bytes, offset);
  readTeredoAddressInto(bytes, offset, fields);
  for (const value of [decoded.prefix, decoded.server, decoded.client]) assert.ok(isU(value, 32));
  assert.ok(isU(decoded.flags, 16) && isU(decoded.port, 16));
  assert.deepEqual(fields, { ...decoded });
  assert.equal(typeof isTeredoAt(bytes, offset), 'boolean');
  assert.equal(typeof teredoMappingMatchesAt(bytes, offset, decoded.client, decoded.port), 'boolean');
  if (offset >= 0 && offset + 16 <= bytes.length) {
    const text = formatIPv6(bytes, offset);
    const back = parseIPv6(text);
    assert.ok(back !== null, text);
    assert.deepEqual([...back], [...bytes.subarray(offset, offset + 16)]);
  }
}

/** Everything we can do to one datagram that arrived at `start` of a receive buffer. */
function exercise(datagram: Uint8Array, start: number, probe: number): void {
  datagrams++;
  const buffer = new Uint8Array(start + datagram.length + 7).fill(0x60);
  buffer.set(datagram, start);
  const end = start + datagram.length;

  const verdict = parseTeredoPayload(buffer, datagram.length, payload, start);
  record('parseTeredoPayload', verdict, TEREDO_DROP_REASONS);
  if (verdict === 'ok') checkPayload(buffer, start, end, payload);

  // RA parsing trusts nothing in the record, even after a failed wire parse.
  for (const cone of [false, true]) {
    const raVerdict = parseRouterAdvertisement(buffer, payload, ra, { cone });
    record('parseRouterAdvertisement', raVerdict, ROUTER_ADVERTISEMENT_DROP_REASONS);
    if (raVerdict === 'ok') {
      assert.ok(verdict === 'ok' && payload.hasOrigin);
      assert.ok(ra.mtu >= 1280 && ra.mtu <= 65535);
      assert.ok(
        isU(ra.prefix, 32) && ra.prefix !== TEREDO_CONSTANTS.obsoletePrefix && ra.prefix >>> 24 !== 0xff,
      );
      assert.ok(isU(ra.serverIPv4, 32) && ra.originIPv4 !== 0 && isU(ra.originPort, 16));
    } else {
      assert.equal(ra.mtu, 0);
    }
  }

  if (verdict === 'ok')
    exerciseRegion(buffer, payload.ipv6Offset, payload.ipv6Length + payload.trailerLength);
  exerciseRegion(buffer, start, datagram.length);
  // A region chosen without regard to the content, possibly past the end or negative.
  exerciseRegion(buffer, (probe % (buffer.length + 8)) - 4, (probe >>> 3) % 200);

  exerciseAddresses(buffer, start);
  exerciseAddresses(buffer, (probe % (buffer.length + 4)) - 2);

  // The same datagram at the start of a buffer with an exaggerated length.
  record(
    'parseTeredoPayload',
    parseTeredoPayload(datagram, datagram.length + 100, payload),
    TEREDO_DROP_REASONS,
  );
}

const randomDatagram = fc
  .tuple(
    fc.constantFrom([], [0, 1], [0, 0], [0x60], [0, 1, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0]),
    fc.uint8Array({ maxLength: 160 }),
  )
  .map(([head, tail]) => Uint8Array.from([...head, ...tail]));

const mutatedDatagram = fc
  .record({
    index: fc.nat(CORPUS.length - 1),
    flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
    cut: fc.option(fc.nat(), { freq: 3 }),
    extension: fc.uint8Array({ maxLength: 24 }),
  })
  .map(({ index, flips, cut, extension }) => {
    const original = CORPUS[index]!.bytes;
    let bytes = Uint8Array.from([...original, ...extension]);
    for (const [where, value] of flips) bytes[where % bytes.length] = value;
    if (cut !== null) bytes = bytes.slice(0, cut % (bytes.length + 1));
    return bytes;
  });

const placement = fc.tuple(fc.integer({ min: 0, max: 9 }), fc.nat());

test('every corpus datagram is valid before mutation', () => {
  for (const { name, bytes } of CORPUS) {
    const p = createTeredoPayload();
    assert.equal(parseTeredoPayload(bytes, bytes.length, p), 'ok', name);
  }
});

test(`${RANDOM_RUNS} random datagrams: no parser throws or returns an undeclared result`, () => {
  fc.assert(
    fc.property(randomDatagram, placement, (datagram, [start, probe]) => exercise(datagram, start, probe)),
    { numRuns: RANDOM_RUNS },
  );
});

test(`${MUTATED_RUNS} mutated valid datagrams: no parser throws or returns an undeclared result`, () => {
  fc.assert(
    fc.property(mutatedDatagram, placement, (datagram, [start, probe]) => exercise(datagram, start, probe)),
    { numRuns: MUTATED_RUNS },
  );
});

test('the inputs reached both the accepting and the dropping paths of every parser', () => {
  assert.ok(datagrams >= 100_000, `only ${datagrams} datagrams`);
  if (process.env.SHOW_VERDICTS) console.log(datagrams, seen);
  const expectations: ReadonlyArray<readonly [string, number]> = [
    ['parseTeredoPayload', TEREDO_DROP_REASONS.length],
    ['checkIPv6Packet', IPV6_DROP_REASONS.length],
    ['parseBubble', BUBBLE_DROP_REASONS.length],
    ['parseRouterSolicitation', 6],
    ['parseRouterAdvertisement', 10],
    ['parseEcho', ECHO_DROP_REASONS.length],
    ['parseDestinationUnreachable', DESTINATION_UNREACHABLE_DROP_REASONS.length],
    ['buildDestinationUnreachable', UNREACHABLE_REFUSALS.length],
  ];
  for (const [parser, minimumReasons] of expectations) {
    const counts = seen.get(parser);
    assert.ok(counts !== undefined, parser);
    assert.ok((counts.get('ok') ?? 0) >= 100, `${parser}: ${counts.get('ok') ?? 0} accepted`);
    const reasons = [...counts.keys()].filter((key) => key !== 'ok');
    assert.ok(reasons.length >= minimumReasons, `${parser} reasons seen: ${reasons.join(', ')}`);
  }
});

test('text parsers never throw and round-trip what they accept', () => {
  const ipv6Text = fc.oneof(
    fc.string({ maxLength: 50 }),
    fc.stringMatching(/^[0-9a-fA-F:.]{0,46}$/),
    fc.uint8Array({ minLength: 16, maxLength: 16 }).map((bytes) => formatIPv6(bytes)),
  );
  fc.assert(
    fc.property(ipv6Text, (text) => {
      const bytes = parseIPv6(text);
      if (bytes !== null) assert.deepEqual(parseIPv6(formatIPv6(bytes)), bytes);
    }),
    { numRuns: 10_000 },
  );
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 20 }), fc.stringMatching(/^[0-9.]{0,16}$/)), (text) => {
      const value = parseIPv4(text);
      if (value !== null) {
        assert.ok(isU(value, 32));
        assert.equal(formatIPv4(value), text);
        assert.equal(typeof isGlobalUnicastIPv4(value), 'boolean');
      }
    }),
    { numRuns: 10_000 },
  );
});
