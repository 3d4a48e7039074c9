import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createNameService,
  NON_GLOBAL_SERVER_TEXT,
  RESOLVE_RATE,
} from '../../../src/bootstrap/name-service.js';
import type { ServerNameAnswer } from '../../../src/bootstrap/server-name-resolver.js';
import { captureLog } from '../../support/fakes.js';

function service(answers: Record<string, ServerNameAnswer>) {
  const { log, records } = captureLog();
  let nowMs = 1_000_000;
  const asked: string[] = [];
  const names = createNameService({
    names: () => ['Teredo.Example'],
    resolve: (name) => {
      asked.push(name);
      return Promise.resolve(answers[name] ?? { ok: false, code: 'ENOTFOUND', message: 'host not found' });
    },
    log,
    now: () => nowMs,
  });
  const ask = (name: string) => names.answer({ type: 'resolve', id: 1, name });
  return { ask, asked, records, advance: (ms: number) => (nowMs += ms) };
}

test('answers the configured name (any case) with its global addresses only', async () => {
  const { ask, records } = service({
    'teredo.example': { ok: true, addresses: ['10.0.0.1', '192.0.2.1', '192.0.2.2'], ttlSeconds: 60 },
  });
  assert.deepEqual(await ask('teredo.example'), {
    ok: true,
    addresses: ['192.0.2.1', '192.0.2.2'],
    ttlSeconds: 60,
  });
  assert.equal(records.length, 0);
});

test('refuses any other name without resolving it', async () => {
  const { ask, asked, records } = service({});
  assert.deepEqual(await ask('attacker.example'), { ok: false, reason: 'not a configured server name' });
  assert.deepEqual(asked, []);
  assert.equal(records[0]?.['msg'], 'Refused resolve request: not a configured server name');
});

test("only non-global addresses: Miredo's refusal, logged once per outage", async () => {
  const { ask, records, advance } = service({
    'teredo.example': { ok: true, addresses: ['10.0.0.1', '127.0.0.1'], ttlSeconds: 60 },
  });
  assert.deepEqual(await ask('teredo.example'), { ok: false, reason: NON_GLOBAL_SERVER_TEXT });
  advance(5000);
  await ask('teredo.example');
  assert.deepEqual(
    records.map((r) => [r['level'], r['msg']]),
    [[50, NON_GLOBAL_SERVER_TEXT]],
  );
});

test("an unresolvable name: Miredo's message at error level, once until it resolves", async () => {
  const { ask, records, advance } = service({});
  assert.deepEqual(await ask('teredo.example'), {
    ok: false,
    reason: 'Cannot resolve Teredo server address "teredo.example": host not found',
  });
  advance(5000);
  await ask('teredo.example');
  assert.equal(records.filter((r) => r['level'] === 50).length, 1);
});

test('rate-limited: a burst, then one a second, and a flood logs nothing', async () => {
  const { ask, asked, records } = service({});
  const results = [];
  for (let i = 0; i < 50; i++) results.push(await ask('teredo.example'));
  assert.equal(asked.length, RESOLVE_RATE.burst);
  assert.equal(
    results.filter((r) => !r.ok && r.reason === 'too many resolve requests').length,
    50 - RESOLVE_RATE.burst,
  );
  assert.equal(records.length, 1);
});
