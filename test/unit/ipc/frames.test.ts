/**
 * The channel's framing (src/ipc/frames.ts): round trips under any chunking, and every violation
 * found from the header alone or from one bounded frame, never by buffering more.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  createFrameDecoder,
  encodeFrame,
  FRAME_HEADER_BYTES,
  MAX_FRAME_BYTES,
} from '../../../src/ipc/frames.js';
import type { FrameEvent } from '../../../src/ipc/frames.js';
import {
  parseBootstrapToEngine,
  parseEngineToBootstrap,
} from '../../../src/ipc/bootstrap-engine-messages.js';
import { RELAY_INIT } from '../../support/fakes.js';

function header(length: number): Uint8Array {
  const bytes = new Uint8Array(FRAME_HEADER_BYTES);
  new DataView(bytes.buffer).setUint32(0, length, false);
  return bytes;
}

function frameOf(payload: Uint8Array): Uint8Array {
  return Buffer.concat([header(payload.length), payload]);
}

test('messages survive any chunking, in order', () => {
  const message = fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.parse(JSON.stringify(value)) as unknown);
  fc.assert(
    fc.property(fc.array(message, { minLength: 1, maxLength: 8 }), fc.array(fc.nat(64)), (messages, cuts) => {
      const bytes = Buffer.concat(messages.map((value) => encodeFrame(value)));
      const decoder = createFrameDecoder();
      const received: unknown[] = [];
      let offset = 0;
      for (const cut of [...cuts, bytes.length]) {
        const end = Math.min(bytes.length, offset + cut);
        for (const event of decoder.push(bytes.subarray(offset, end))) {
          assert.equal(event.kind, 'message');
          if (event.kind === 'message') received.push(event.value);
        }
        offset = end;
      }
      assert.deepEqual(received, messages);
      assert.equal(decoder.buffered, 0);
    }),
    { numRuns: 500 },
  );
});

test('an oversized length is refused from the header, before any of its payload is kept', () => {
  for (const length of [MAX_FRAME_BYTES + 1, 600 * 1024 * 1024, 0xffff_ffff]) {
    const decoder = createFrameDecoder();
    assert.deepEqual(decoder.push(header(length).subarray(0, 3)), []);
    assert.deepEqual(decoder.push(Buffer.concat([header(length).subarray(3), Buffer.alloc(1000)])), [
      { kind: 'violation', violation: { kind: 'oversized-frame', length, limit: MAX_FRAME_BYTES } },
    ]);
    assert.equal(decoder.failed, true);
    assert.deepEqual(decoder.push(encodeFrame({ type: 'ready', pid: 1, workers: 1 })), []);
    assert.equal(decoder.buffered, 0);
  }
});

test('600 MB without a frame boundary: refused at the first chunk', () => {
  // The old channel's attack: one endless line. Its first four bytes are a length of 1.6 GB.
  const decoder = createFrameDecoder();
  const chunk = Buffer.alloc(64 * 1024, 'a');
  const events: FrameEvent[] = [];
  for (let sent = 0; sent < 600 * 1024 * 1024; sent += chunk.length) {
    events.push(...decoder.push(chunk));
    assert.ok(decoder.buffered <= FRAME_HEADER_BYTES + MAX_FRAME_BYTES);
  }
  assert.deepEqual(events, [
    { kind: 'violation', violation: { kind: 'oversized-frame', length: 0x61616161, limit: MAX_FRAME_BYTES } },
  ]);
});

test('a frame of exactly the maximum is accepted; empty, non-UTF-8 and non-JSON frames are violations', () => {
  const biggest = Buffer.from(JSON.stringify('x'.repeat(MAX_FRAME_BYTES - 2)));
  assert.equal(biggest.length, MAX_FRAME_BYTES);
  assert.deepEqual(createFrameDecoder().push(frameOf(biggest)), [
    { kind: 'message', value: 'x'.repeat(MAX_FRAME_BYTES - 2) },
  ]);
  const cases: ReadonlyArray<readonly [Uint8Array, string]> = [
    [header(0), 'empty-frame'],
    [frameOf(Buffer.from([0x22, 0xff, 0x22])), 'invalid-utf8'],
    [frameOf(Buffer.from('{"type":"ready",')), 'invalid-json'],
    [frameOf(Buffer.from('\ufeff{}')), 'invalid-json'],
  ];
  for (const [bytes, kind] of cases) {
    const decoder = createFrameDecoder();
    const events = decoder.push(Buffer.concat([encodeFrame(1), bytes, encodeFrame(2)]));
    assert.deepEqual(events, [
      { kind: 'message', value: 1 },
      { kind: 'violation', violation: { kind } },
    ]);
  }
});

test('any bytes: no exception, bounded buffering, nothing after a violation', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }), (chunks) => {
      const decoder = createFrameDecoder();
      let violated = false;
      for (const chunk of chunks) {
        const events = decoder.push(chunk);
        if (violated) assert.deepEqual(events, []);
        events.forEach((event, index) => {
          if (event.kind === 'violation') {
            assert.equal(index, events.length - 1);
            violated = true;
          }
        });
        assert.ok(decoder.buffered <= FRAME_HEADER_BYTES + MAX_FRAME_BYTES);
        assert.equal(decoder.failed, violated);
      }
    }),
    { numRuns: 2000 },
  );
});

test('the largest messages the schemas accept encode far below the limit', () => {
  // Worst case per character: a control character, six bytes in JSON.
  const ugly = (length: number, seed: number): string =>
    String.fromCharCode(seed % 31) + '\u0001'.repeat(length - 1);
  const counters = Object.fromEntries(
    Array.from({ length: 256 }, (_, i) => [
      `${ugly(62, i)}${String.fromCharCode(0x100 + i)}`,
      Number.MAX_SAFE_INTEGER,
    ]),
  );
  const report = {
    type: 'summary-report',
    id: 0xffff_ffff,
    summary: {
      role: 'relay',
      pid: 0x3fff_ffff,
      uptimeSeconds: Number.MAX_VALUE,
      workers: 64,
      uid: 0xffff_ffff,
      gid: 0xffff_ffff,
      maxRssBytes: Number.MAX_SAFE_INTEGER,
      counters,
    },
  };
  assert.ok(parseEngineToBootstrap(report).ok);
  const fds = Array.from({ length: 128 }, (_, i) => 0xf_0000 + i);
  const init = {
    ...RELAY_INIT,
    fds: { tun: fds.slice(0, 64), udp: fds.slice(64), raw: null },
    poolSize: 64,
    chrootDir: `/${ugly(4095, 1)}`,
  };
  assert.ok(parseBootstrapToEngine(init).ok);
  for (const message of [report, init]) {
    const size = encodeFrame(message).length;
    assert.ok(size < MAX_FRAME_BYTES / 2, `${String(message.type)}: ${size} bytes`);
  }
});

test('encoding an oversized message is a programming error', () => {
  assert.throws(() => encodeFrame('x'.repeat(MAX_FRAME_BYTES)), RangeError);
});
