/** The engine's view of its workers' heartbeats (src/engine/health-monitor.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HeartbeatWatch, startHealthMonitor } from '../../../src/engine/health-monitor.js';
import type { HealthMessage } from '../../../src/ipc/bootstrap-engine-messages.js';

test('a worker whose count stands still for the stall time is stalled; one that moves is not', () => {
  const watch = new HeartbeatWatch(2, 0, 1500);
  assert.deepEqual(watch.observe([1, 1], 0), []);
  assert.deepEqual(watch.observe([5, 1], 1000), []);
  assert.deepEqual(watch.observe([9, 1], 1499), []);
  assert.deepEqual(watch.observe([12, 1], 1500), [1]);
  assert.deepEqual(watch.observe([12, 2], 2900), [], 'worker 0 moved 1400 ms ago; worker 1 just beat');
  assert.deepEqual(watch.observe([12, 2], 3000), [0]);
});

test('the monitor reports every interval, with the stalled workers of a real heartbeat array', async () => {
  const heartbeat = new SharedArrayBuffer(8);
  const beats = new Int32Array(heartbeat);
  const messages: HealthMessage[] = [];
  const changes: number[][] = [];
  let now = 0;
  const monitor = startHealthMonitor({
    heartbeat,
    workers: 2,
    send: (message) => messages.push(message),
    changed: (stalled) => changes.push([...stalled]),
    now: () => now,
    intervalMs: 5,
    stallMs: 100,
  });
  for (now = 0; now <= 300; now += 50) {
    Atomics.add(beats, 0, 1);
    await new Promise((resolve) => setTimeout(resolve, 6));
  }
  monitor.stop();
  assert.ok(messages.length >= 5, `${messages.length} reports`);
  assert.deepEqual(messages.at(-1), { type: 'health', stalled: [1] });
  assert.ok(
    messages.every((message) => !message.stalled.includes(0)),
    'worker 0 kept beating',
  );
  assert.deepEqual(changes.at(-1), [1]);
});
