/**
 * An engine's helper requests (helper-queue.ts): served one at a time, bounded, and never
 * served once the engine is gone; closing waits for the request in progress (issue 11,
 * finding 4).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequestQueue } from '../../../src/bootstrap/helper-queue.js';
import type { HelperRequest, ReplyResult } from '../../../src/ipc/bootstrap-engine-messages.js';
import { captureLog } from '../../support/fakes.js';

function setAddress(id: number): HelperRequest {
  return { type: 'set-address', id, ifindex: 9, address: `2001::${id.toString(16)}`, prefixLen: 128 };
}

function harness(limit = 64) {
  const captured = captureLog();
  const served: number[] = [];
  const finished: number[] = [];
  const replies: Array<[number, ReplyResult]> = [];
  const gates: Array<() => void> = [];
  const queue = createRequestQueue({
    limit,
    serve: async (request) => {
      served.push(request.id);
      await new Promise<void>((resolve) => gates.push(resolve));
      finished.push(request.id);
      if (request.id === 13) throw new Error('kernel said no');
      return { ok: true };
    },
    reply: (id, result) => replies.push([id, result]),
    log: captured.log,
    enginePid: 4242,
  });
  const openGate = async (): Promise<void> => {
    while (gates.length === 0) await new Promise((resolve) => setImmediate(resolve));
    gates.shift()?.();
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { queue, served, finished, replies, openGate, records: captured.records };
}

test('requests are served one at a time, in order, each answered', async () => {
  const { queue, served, replies, openGate } = harness();
  for (const id of [11, 12, 13]) queue.push(setAddress(id));
  assert.deepEqual(served, [11]);
  await openGate();
  assert.deepEqual(served, [11, 12]);
  await openGate();
  await openGate();
  assert.deepEqual(replies, [
    [11, { ok: true }],
    [12, { ok: true }],
    [13, { ok: false, kind: 'failed', reason: 'kernel said no' }],
  ]);
});

test('closing drops what waits, and resolves only once the request in progress is done', async () => {
  const { queue, served, finished, replies, openGate } = harness();
  for (let id = 1; id <= 10; id++) queue.push(setAddress(id));
  let closedWith: number | null = null;
  const closing = queue.close().then((dropped) => (closedWith = dropped));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(closedWith, null, 'still serving request 1');
  await openGate();
  await closing;
  assert.equal(closedWith, 9);
  assert.deepEqual(served, [1]);
  assert.deepEqual(finished, [1]);
  // The engine is gone: not even request 1's answer is sent, and nothing new is taken.
  assert.deepEqual(replies, []);
  queue.push(setAddress(11));
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(served, [1]);
});

test('beyond the limit a request is refused at once, with a warning', async () => {
  const { queue, replies, records, openGate } = harness(2);
  for (const id of [1, 2, 3]) queue.push(setAddress(id));
  assert.deepEqual(replies, [[3, { ok: false, kind: 'refused', reason: 'too many pending requests' }]]);
  assert.ok(
    records.some(
      (r) => r['level'] === 40 && r['msg'] === 'Refused set-address request: too many pending requests',
    ),
  );
  const closing = queue.close();
  await openGate();
  assert.equal(await closing, 1);
});
