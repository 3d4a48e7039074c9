import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_DELAY_MS, QUIET_MS, watchUplink } from '../../../src/bootstrap/uplink-watch.js';
import { RTM } from '../../../src/os/netlink-route.js';
import { captureLog } from '../../support/fakes.js';

/** A NEWADDR notification for an IPv4 address on `ifindex` (host byte order: little-endian). */
function newAddress(ifindex: number): Uint8Array {
  const bytes = new Uint8Array(24);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, 24, true);
  view.setUint16(4, RTM.NEWADDR, true);
  bytes[16] = 2;
  view.setUint32(20, ifindex, true);
  return bytes;
}

function bench() {
  let nowMs = 0;
  const timers: Array<{ due: number; callback: () => void; id: number }> = [];
  let nextId = 1;
  const fakeTimers = {
    setTimeout: (callback: () => void, ms: number) => {
      const id = nextId++;
      timers.push({ due: nowMs + ms, callback, id });
      return id;
    },
    clearTimeout: (id: number) => {
      const index = timers.findIndex((timer) => timer.id === id);
      if (index >= 0) timers.splice(index, 1);
    },
  } as unknown as Pick<typeof globalThis, 'setTimeout' | 'clearTimeout'>;
  let deliver: (bytes: Uint8Array, length: number) => void = () => undefined;
  let lose: (code: string) => void = () => undefined;
  let stopped = false;
  const reports: (readonly string[])[] = [];
  const { log, records } = captureLog();
  const watch = watchUplink({
    open: (onDatagram, onLost) => {
      deliver = onDatagram;
      lose = onLost;
      return { stop: () => (stopped = true) };
    },
    ignored: (ifindex) => ifindex === 9,
    onChange: (changes) => reports.push(changes),
    log,
    timers: fakeTimers,
    now: () => nowMs,
  });
  const advance = (ms: number): void => {
    const end = nowMs + ms;
    for (;;) {
      timers.sort((a, b) => a.due - b.due);
      const next = timers[0];
      if (next === undefined || next.due > end) break;
      timers.shift();
      nowMs = next.due;
      next.callback();
    }
    nowMs = end;
  };
  return {
    send: (bytes: Uint8Array) => deliver(bytes, bytes.length),
    lose: (code: string) => lose(code),
    advance,
    reports,
    records,
    watch,
    stopped: () => stopped,
  };
}

test('one report for a burst, once it has been quiet', () => {
  const b = bench();
  b.send(newAddress(2));
  b.advance(QUIET_MS - 1);
  b.send(newAddress(3));
  b.advance(QUIET_MS - 1);
  assert.deepEqual(b.reports, []);
  b.advance(1);
  assert.deepEqual(b.reports, [['address added (ifindex 2)', 'address added (ifindex 3)']]);
});

test('a change that never stops is reported within the maximum delay', () => {
  const b = bench();
  for (let elapsed = 0; elapsed < MAX_DELAY_MS + 500; elapsed += 100) {
    b.send(newAddress(2));
    b.advance(100);
  }
  assert.ok(b.reports.length >= 1);
});

test('our own interface is left out; lost notifications count as a change; stop stops', () => {
  const b = bench();
  b.send(newAddress(9));
  b.advance(MAX_DELAY_MS);
  assert.deepEqual(b.reports, []);
  b.lose('ENOBUFS');
  b.advance(QUIET_MS);
  assert.deepEqual(b.reports, [['notifications lost (ENOBUFS)']]);
  b.watch.stop();
  assert.equal(b.stopped(), true);
});

test('malformed notifications are logged with their count, and change nothing', () => {
  const b = bench();
  b.send(Uint8Array.from([8, 0, 0, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
  b.advance(MAX_DELAY_MS);
  assert.deepEqual(b.reports, []);
  assert.equal(b.records[0]?.['msg'], 'Malformed network change notification ignored');
});

test('a socket that cannot be opened is a warning, not a failure', () => {
  const { log, records } = captureLog();
  const watch = watchUplink({
    open: () => {
      throw new Error('socket: EPERM');
    },
    ignored: () => false,
    onChange: () => assert.fail('no change'),
    log,
  });
  watch.stop();
  assert.equal(records[0]?.['msg'], 'Not watching network changes: socket: EPERM');
});
