/**
 * The TUN offload splitter (src/teredo/tun-offload.ts): super-packets cut into segments whose
 * payloads concatenate back to the original stream, each a well-formed IPv6 packet with a correct
 * checksum, TCP sequence numbers and flags where they belong; checksums completed in place; and
 * hostile virtio headers refused with a typed reason, never an exception.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { foldSum, onesComplementSum, verifyUpperLayerChecksum } from '../../../src/teredo/checksum.js';
import {
  OFFLOAD_CHECKSUM,
  OFFLOAD_DROP_LAYOUT,
  OFFLOAD_DROP_SIZE,
  OFFLOAD_DROP_TYPE,
  OFFLOAD_PLAIN,
  OFFLOAD_SEGMENT,
  VNET_F_NEEDS_CSUM,
  VNET_GSO_ECN,
  VNET_GSO_NONE,
  VNET_GSO_TCPV4,
  VNET_GSO_TCPV6,
  VNET_GSO_UDP_L4,
  VNET_HEADER_BYTES,
  completeChecksum,
  offloadKind,
  segmentCount,
  segmentPlan,
  wordSum,
  writeSegments,
} from '../../../src/teredo/tun-offload.js';
import type { SegmentOutput } from '../../../src/teredo/tun-offload.js';

const SLOT = 2048;
const FIN = 0x01;
const PSH = 0x08;
const ACK = 0x10;
const CWR = 0x80;

interface Packet {
  readonly bytes: Uint8Array;
  readonly header: Uint8Array;
}

function vnetHeader(
  flags: number,
  gsoType: number,
  gsoSize: number,
  csumStart: number,
  csumOffset: number,
): Uint8Array {
  const header = new Uint8Array(VNET_HEADER_BYTES);
  const view = new DataView(header.buffer);
  header[0] = flags;
  header[1] = gsoType;
  view.setUint16(4, gsoSize, true);
  view.setUint16(6, csumStart, true);
  view.setUint16(8, csumOffset, true);
  return header;
}

/** A super-packet as the kernel hands it: checksum field not final (here: garbage). */
function superPacket(options: {
  udp: boolean;
  payload: Uint8Array;
  gsoSize: number;
  tcpOptionWords?: number;
  flags?: number;
  sequence?: number;
  ecn?: boolean;
}): Packet {
  const l4 = options.udp ? 8 : 20 + 4 * (options.tcpOptionWords ?? 0);
  const bytes = new Uint8Array(40 + l4 + options.payload.length);
  const view = new DataView(bytes.buffer);
  bytes[0] = 0x60;
  view.setUint16(4, l4 + options.payload.length);
  bytes[6] = options.udp ? 17 : 6;
  bytes[7] = 64;
  bytes.set([0x20, 0x01, 0, 0, 0x4, 0x5, 0x6, 0x7, 0, 0, 0, 0, 0, 0, 0, 1], 8);
  bytes.set([0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2], 24);
  view.setUint16(40, 40000);
  view.setUint16(42, 5001);
  if (options.udp) {
    view.setUint16(44, 8 + options.payload.length);
    view.setUint16(46, 0xbeef);
  } else {
    view.setUint32(44, options.sequence ?? 0xfffff000);
    view.setUint32(48, 77);
    bytes[52] = (l4 / 4) << 4;
    bytes[53] = options.flags ?? ACK | PSH;
    view.setUint16(54, 65535);
    view.setUint16(56, 0xbeef);
    for (let i = 60; i < 40 + l4; i++) bytes[i] = 1; // NOP options
  }
  bytes.set(options.payload, 40 + l4);
  const gsoType =
    (options.udp ? VNET_GSO_UDP_L4 : VNET_GSO_TCPV6) | (options.ecn === true ? VNET_GSO_ECN : 0);
  return { bytes, header: vnetHeader(VNET_F_NEEDS_CSUM, gsoType, options.gsoSize, 40, options.udp ? 6 : 16) };
}

function output(slots: number, slotSize = SLOT): SegmentOutput {
  return { data: new Uint8Array(slots * slotSize), base: 0, slotSize, lengths: new Uint32Array(slots) };
}

/** Cuts the whole super-packet, `round` segments at a time as the data plane does; the segments. */
function split(packet: Packet, round = 64, slotSize = SLOT): Uint8Array[] | number {
  const { bytes, header } = packet;
  const headerBytes = segmentPlan(bytes, 0, bytes.length, header, 0, slotSize);
  if (headerBytes < 0) return headerBytes;
  const total = segmentCount(bytes.length, headerBytes, new DataView(header.buffer).getUint16(4, true));
  const segments: Uint8Array[] = [];
  const out = output(round, slotSize);
  for (let first = 0; first < total; first += round) {
    const count = Math.min(round, total - first);
    writeSegments(bytes, 0, bytes.length, header, 0, headerBytes, first, count, out, 0);
    for (let k = 0; k < count; k++) {
      segments.push(out.data.slice(k * slotSize, k * slotSize + (out.lengths[k] ?? 0)));
    }
  }
  return segments;
}

function l4Bytes(segment: Uint8Array, udp: boolean): number {
  return udp ? 8 : ((segment[52] ?? 0) >> 4) * 4;
}

function checkSegments(
  packet: Packet,
  segments: Uint8Array[],
  udp: boolean,
  gsoSize: number,
  payload: Uint8Array,
): void {
  const joined: number[] = [];
  const original = new DataView(packet.bytes.buffer);
  segments.forEach((segment, k) => {
    const view = new DataView(segment.buffer, segment.byteOffset);
    const header = 40 + l4Bytes(segment, udp);
    const chunk = segment.length - header;
    assert.equal(view.getUint16(4), segment.length - 40, 'payload length');
    assert.ok(verifyUpperLayerChecksum(segment, 0), `segment ${k} checksum`);
    if (k < segments.length - 1) assert.equal(chunk, gsoSize, 'every segment but the last is full');
    else assert.ok(chunk <= gsoSize && (chunk > 0 || payload.length === 0), 'last segment');
    if (udp) {
      assert.equal(view.getUint16(44), 8 + chunk, 'UDP length');
    } else {
      assert.equal(view.getUint32(44), (original.getUint32(44) + k * gsoSize) % 2 ** 32, 'sequence');
      assert.equal(view.getUint32(48), 77, 'acknowledgement');
    }
    joined.push(...segment.subarray(header));
  });
  assert.deepEqual(Uint8Array.from(joined), payload, 'payloads concatenate to the original stream');
}

test('splitting then concatenating gives the stream back; every segment verifies (property)', () => {
  fc.assert(
    fc.property(
      fc.boolean(),
      fc.uint8Array({ minLength: 1, maxLength: 20000 }),
      fc.integer({ min: 1, max: 1400 }),
      fc.integer({ min: 0, max: 10 }),
      fc.integer({ min: 1, max: 70 }),
      (udp, payload, gsoSize, optionWords, round) => {
        const packet = superPacket({ udp, payload, gsoSize, tcpOptionWords: optionWords });
        const segments = split(packet, round);
        assert.ok(Array.isArray(segments));
        assert.equal(segments.length, Math.ceil(payload.length / gsoSize));
        checkSegments(packet, segments, udp, gsoSize, payload);
      },
    ),
    { numRuns: 150 },
  );
});

test('odd sizes and a short last segment: 64 KiB of TCP in 1220-byte segments, and 1 + 1219 bytes', () => {
  const payload = Uint8Array.from({ length: 65455 }, (_, i) => (i * 7 + 3) & 0xff);
  const packet = superPacket({ udp: false, payload, gsoSize: 1220 });
  const segments = split(packet);
  assert.ok(Array.isArray(segments));
  assert.equal(segments.length, 54);
  assert.equal(segments.at(-1)?.length, 60 + (65455 % 1220));
  checkSegments(packet, segments, false, 1220, payload);
  const odd = superPacket({ udp: true, payload: new Uint8Array(1221).fill(0xff), gsoSize: 1219 });
  const oddSegments = split(odd);
  assert.ok(Array.isArray(oddSegments));
  assert.deepEqual(
    oddSegments.map((s) => s.length),
    [48 + 1219, 48 + 2],
  );
  checkSegments(odd, oddSegments, true, 1219, new Uint8Array(1221).fill(0xff));
});

test('FIN and PSH only on the last segment, CWR only on the first; the sequence wraps', () => {
  const payload = new Uint8Array(3000).fill(9);
  const packet = superPacket({ udp: false, payload, gsoSize: 1000, flags: ACK | PSH | FIN | CWR, ecn: true });
  const segments = split(packet);
  assert.ok(Array.isArray(segments));
  assert.deepEqual(
    segments.map((s) => s[53]),
    [ACK | CWR, ACK, ACK | PSH | FIN],
  );
  const wrapped = split(superPacket({ udp: false, payload, gsoSize: 1000, sequence: 0xfffffc18 }));
  assert.ok(Array.isArray(wrapped));
  assert.deepEqual(
    wrapped.map((s) => new DataView(s.buffer).getUint32(44)),
    [0xfffffc18, 0, 1000],
  );
});

test('a plain packet that needs its checksum gets it completed in place (TCP, UDP)', () => {
  for (const udp of [false, true]) {
    const packet = superPacket({ udp, payload: Uint8Array.from({ length: 333 }, (_, i) => i), gsoSize: 0 });
    const header = vnetHeader(VNET_F_NEEDS_CSUM, VNET_GSO_NONE, 0, 40, udp ? 6 : 16);
    assert.equal(offloadKind(header, 0), OFFLOAD_CHECKSUM);
    assert.equal(completeChecksum(packet.bytes, 0, packet.bytes.length, header, 0), OFFLOAD_CHECKSUM);
    assert.ok(verifyUpperLayerChecksum(packet.bytes, 0));
  }
  assert.equal(offloadKind(vnetHeader(0, VNET_GSO_NONE, 0, 0, 0), 0), OFFLOAD_PLAIN);
  assert.equal(offloadKind(vnetHeader(1, VNET_GSO_TCPV6, 1000, 40, 16), 0), OFFLOAD_SEGMENT);
});

test('hostile virtio headers: a typed reason, never an exception', () => {
  const packet = superPacket({ udp: false, payload: new Uint8Array(5000), gsoSize: 1000 });
  const { bytes } = packet;
  const plan = (header: Uint8Array, length = bytes.length): number =>
    segmentPlan(bytes, 0, length, header, 0, SLOT);
  assert.equal(offloadKind(vnetHeader(1, VNET_GSO_TCPV4, 1000, 40, 16), 0), OFFLOAD_DROP_TYPE);
  assert.equal(offloadKind(vnetHeader(1, 0x42, 1000, 40, 16), 0), OFFLOAD_DROP_TYPE);
  assert.equal(plan(vnetHeader(1, VNET_GSO_TCPV6, 0, 40, 16)), OFFLOAD_DROP_SIZE, 'gso_size 0');
  assert.equal(plan(vnetHeader(1, VNET_GSO_TCPV6, 4000, 40, 16)), OFFLOAD_DROP_SIZE, 'segment > slot');
  assert.equal(plan(vnetHeader(1, VNET_GSO_TCPV6, 1000, 40, 6)), OFFLOAD_DROP_TYPE, 'UDP offset for TCP');
  assert.equal(plan(vnetHeader(1, VNET_GSO_UDP_L4, 1000, 40, 6)), OFFLOAD_DROP_TYPE, 'UDP type, TCP packet');
  assert.equal(plan(vnetHeader(0, VNET_GSO_TCPV6, 1000, 40, 16)), OFFLOAD_DROP_LAYOUT, 'no NEEDS_CSUM');
  assert.equal(plan(vnetHeader(1, VNET_GSO_TCPV6, 1000, 20, 16)), OFFLOAD_DROP_LAYOUT, 'start in IPv6');
  assert.equal(plan(vnetHeader(1, VNET_GSO_TCPV6, 1000, 65535, 16)), OFFLOAD_DROP_LAYOUT, 'start beyond');
  assert.equal(plan(vnetHeader(1, VNET_GSO_TCPV6, 1000, 40, 16), 50), OFFLOAD_DROP_LAYOUT, 'truncated');
  const csum = (start: number, offset: number, length = bytes.length): number =>
    completeChecksum(bytes, 0, length, vnetHeader(1, 0, 0, start, offset), 0);
  assert.equal(csum(40, 2), OFFLOAD_DROP_LAYOUT, 'not TCP or UDP');
  assert.equal(csum(0, 16), OFFLOAD_DROP_LAYOUT, 'start in IPv6');
  assert.equal(csum(40, 16, 50), OFFLOAD_DROP_LAYOUT, 'field beyond the packet');
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 10, maxLength: 10 }),
      fc.uint8Array({ maxLength: 3000 }),
      (header, junk) => {
        const kind = offloadKind(header, 0);
        if (kind === OFFLOAD_CHECKSUM) completeChecksum(junk, 0, junk.length, header, 0);
        if (kind !== OFFLOAD_SEGMENT) return;
        const headerBytes = segmentPlan(junk, 0, junk.length, header, 0, SLOT);
        if (headerBytes < 0) return;
        const gso = new DataView(header.buffer).getUint16(4, true);
        const count = Math.min(4, segmentCount(junk.length, headerBytes, gso));
        const out = output(4);
        writeSegments(junk, 0, junk.length, header, 0, headerBytes, 0, count, out, 0);
        for (let k = 0; k < count; k++) assert.ok((out.lengths[k] ?? 0) <= SLOT);
      },
    ),
    { numRuns: 500 },
  );
});

test('wordSum, 32 bits at a time, folds to the byte-pair sum at any offset and length (property)', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 3000 }),
      fc.nat(7),
      fc.nat(3000),
      fc.nat(3000),
      (bytes, shift, a, b) => {
        const view = new Uint8Array(bytes.length + shift);
        view.set(bytes, shift);
        const array = view.subarray(shift);
        const from = Math.min(a, b, array.length);
        const to = Math.min(Math.max(a, b), array.length);
        assert.equal(foldSum(wordSum(array, from, to)), foldSum(onesComplementSum(array, from, to - from)));
      },
    ),
    { numRuns: 500 },
  );
});

test('segments written into the same array as the super-packet (the data plane: copyWithin) verify', () => {
  const payload = Uint8Array.from({ length: 9000 }, (_, i) => (i * 13) & 0xff);
  const packet = superPacket({ udp: false, payload, gsoSize: 1220 });
  const all = new Uint8Array(packet.bytes.length + 8 * SLOT + 4);
  all.set(packet.bytes);
  const base = Math.ceil(packet.bytes.length / 4) * 4;
  const out = { data: all, base, slotSize: SLOT, lengths: new Uint32Array(8) };
  const headerBytes = segmentPlan(all, 0, packet.bytes.length, packet.header, 0, SLOT);
  const total = segmentCount(packet.bytes.length, headerBytes, 1220);
  writeSegments(all, 0, packet.bytes.length, packet.header, 0, headerBytes, 0, total, out, 0);
  const segments = Array.from({ length: total }, (_, k) =>
    all.slice(base + k * SLOT, base + k * SLOT + (out.lengths[k] ?? 0)),
  );
  checkSegments(packet, segments, false, 1220, payload);
});
