/**
 * The bootstrap's handle on an engine (engine-process.ts) with the fake engine: a message no
 * schema accepts gets the engine killed, and an engine's exit is seen even when a descendant
 * keeps its output open.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { OUTPUT_DRAIN_MS, spawnEngine } from '../../../src/bootstrap/engine-process.js';
import type { EngineProcess } from '../../../src/bootstrap/engine-process.js';
import { captureLog, RELAY_INIT } from '../../support/fakes.js';

const FAKE_ENGINE = fileURLToPath(new URL('../../support/fake-engine.js', import.meta.url));

/** The fake engine's behaviour rides on the relay MTU (see fake-engine.ts). */
function start(mtu: number) {
  const captured = captureLog();
  const { type: _type, fds: _fds, ...init } = RELAY_INIT;
  const engine: EngineProcess = spawnEngine({
    enginePath: FAKE_ENGINE,
    init: {
      ...init,
      config: {
        role: 'relay',
        relayType: 'cone',
        prefix: 0x20010000,
        interfaceMtu: mtu,
        bindAddress: '0.0.0.0',
        bindPort: 3545,
        peerTableCapacity: 1024,
      },
      poolSize: 1,
    },
    // Any open descriptors stand in for the TUN queue and the UDP socket: the double ignores them.
    fds: { tun: [2], udp: [2], raw: null },
    sink: { write: (line: string) => captured.records.push(JSON.parse(line) as Record<string, unknown>) },
    log: captured.log,
    onRequest: () => Promise.resolve({ ok: true }),
    readyTimeoutMs: 5000,
  });
  return { engine, records: captured.records };
}

test('a message no schema accepts is a protocol violation: the engine is killed, at critical level', async () => {
  const { engine, records } = start(1285);
  assert.deepEqual(await engine.ready, { ok: true });
  assert.deepEqual(await engine.exited, { code: null, signal: 'SIGKILL' });
  const violation = records.find((r) => r['level'] === 60);
  assert.ok(violation, JSON.stringify(records));
  assert.equal(
    violation['msg'],
    `Protocol violation by engine ${engine.pid}: invalid message: pid: Too small: expected number to be >=1; killing it`,
  );
});

test("the exit is seen even when a descendant keeps the engine's output open", async (t) => {
  const { engine, records } = start(1284);
  const started = Date.now();
  const exit = await engine.exited;
  const elapsed = Date.now() - started;
  const line = records.find((r) => r['msg'] === 'fake engine descendant');
  const sleeper = Number(line?.['sleeper']);
  t.after(() => {
    if (sleeper > 0) process.kill(sleeper, 'SIGKILL');
  });
  assert.deepEqual(exit, { code: 0, signal: null });
  assert.ok(sleeper > 0, 'the descendant started');
  assert.ok(elapsed < OUTPUT_DRAIN_MS + 2000, `exited after ${elapsed} ms`);
  // And its log lines, re-written as the engine's, came through before that.
  assert.equal(line?.['name'], 'miredo-engine');
  assert.equal(line?.['pid'], engine.pid);
});
