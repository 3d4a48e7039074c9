/**
 * The slow-path backlog counters (src/ipc/slow-path-backlog.ts): per worker, posted minus
 * taken, never below zero, wrapping safely, forgotten at a worker's restart; one region for
 * every worker DataplaneWorkers allows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMiredoConf } from '../../../src/config/miredo-conf.js';
import { SLOW_PATH_BACKLOG_BYTES, slowPathBacklogOver } from '../../../src/ipc/slow-path-backlog.js';

test('one pair of counters for each worker DataplaneWorkers allows', () => {
  const most = parseMiredoConf('ServerAddress 192.0.2.1\nDataplaneWorkers 64\n', 'miredo.conf');
  assert.ok(most.ok);
  assert.equal(parseMiredoConf('ServerAddress 192.0.2.1\nDataplaneWorkers 65\n', 'miredo.conf').ok, false);
  const backlog = slowPathBacklogOver(new SharedArrayBuffer(SLOW_PATH_BACKLOG_BYTES), 0);
  const last = most.config.dataplaneWorkers - 1;
  backlog.posted(last);
  backlog.posted(last - 1);
  backlog.taken(last - 1);
  assert.deepEqual([backlog.waiting(last), backlog.waiting(last - 1), backlog.waiting(last + 1)], [1, 0, 0]);
  assert.throws(() => slowPathBacklogOver(new SharedArrayBuffer(SLOW_PATH_BACKLOG_BYTES), 4), RangeError);
  assert.throws(() => slowPathBacklogOver(new SharedArrayBuffer(SLOW_PATH_BACKLOG_BYTES + 8), 2), RangeError);
});

test('waiting: posted minus taken, per worker, never below zero', () => {
  const buffer = new SharedArrayBuffer(64 + SLOW_PATH_BACKLOG_BYTES);
  const backlog = slowPathBacklogOver(buffer, 64);
  const seen = slowPathBacklogOver(buffer, 64); // another thread's view
  for (let k = 0; k < 5; k++) backlog.posted(1);
  backlog.posted(63);
  seen.taken(1);
  seen.taken(1);
  assert.deepEqual([backlog.waiting(0), backlog.waiting(1), backlog.waiting(63)], [0, 3, 1]);
  for (let k = 0; k < 4; k++) seen.taken(1); // one more than posted: a late message of an earlier run
  assert.equal(backlog.waiting(1), 0);
  backlog.posted(1);
  assert.equal(backlog.waiting(1), 0, 'the late one lets the worker post one more');
  for (const index of [-1, 64, 1.5]) {
    backlog.posted(index);
    backlog.taken(index);
    assert.equal(backlog.waiting(index), 0, `index ${index} is ignored`);
  }
  assert.ok(
    new Int32Array(buffer, 0, 16).every((word) => word === 0),
    'nothing written before the region',
  );
});

test('a restarted worker forgets messages that were never taken; counters wrap', () => {
  const buffer = new SharedArrayBuffer(SLOW_PATH_BACKLOG_BYTES);
  const backlog = slowPathBacklogOver(buffer, 0);
  for (let k = 0; k < 700; k++) backlog.posted(2);
  backlog.taken(2);
  assert.equal(backlog.waiting(2), 699);
  backlog.restart(2);
  assert.equal(backlog.waiting(2), 0);
  const words = new Int32Array(buffer);
  words[3] = 0x7fffffff; // posted by worker 3, about to wrap
  words[64 + 3] = 0x7ffffffe;
  backlog.posted(3);
  backlog.posted(3);
  assert.equal(backlog.waiting(3), 3);
  backlog.taken(3);
  assert.equal(backlog.waiting(3), 2);
});
