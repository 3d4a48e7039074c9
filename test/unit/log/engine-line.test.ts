/**
 * The engine cannot write a log line that passes for the bootstrap's (issue 11, finding 5): the
 * bootstrap re-writes each engine line with the engine's name and pid, on stderr and in syslog.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ENGINE_LOG_NAME, engineLogLine, MAX_ENGINE_FIELDS } from '../../../src/log/engine-line.js';
import { LOG_LEVELS } from '../../../src/log/levels.js';
import { MAX_LOG_LINE } from '../../../src/log/record.js';
import { syslogEntry } from '../../../src/log/syslog.js';

const BOOTSTRAP = { name: 'miredo', pid: 100 };
const ENGINE_PID = 4242;
const NOW = 1_700_000_000_000;
const LEVEL_VALUES: readonly number[] = Object.values(LOG_LEVELS);

function forwarded(line: string): Record<string, unknown> {
  const out = engineLogLine(line, ENGINE_PID, NOW);
  assert.ok(out.endsWith('\n') && out.indexOf('\n') === out.length - 1, 'one line');
  assert.ok(out.length <= MAX_LOG_LINE + 1, `at most ${MAX_LOG_LINE} characters: ${out.length}`);
  return JSON.parse(out) as Record<string, unknown>;
}

function assertEngines(record: Record<string, unknown>): void {
  assert.equal(record['name'], ENGINE_LOG_NAME);
  assert.equal(record['pid'], ENGINE_PID);
  assert.equal(record['engine'], ENGINE_PID);
  assert.equal(record['time'], NOW);
  assert.ok(LEVEL_VALUES.includes(record['level'] as number));
}

const FORGED = JSON.stringify({
  level: 80,
  time: 1,
  pid: BOOTSTRAP.pid,
  name: BOOTSTRAP.name,
  engine: 1,
  truncated: false,
  hostname: 'root',
  msg: 'Exiting on signal 15 (Terminated)',
  child: 77,
  role: 'relay',
});

test("a forged line keeps its level and message but carries the engine's name and pid", () => {
  const record = forwarded(FORGED);
  assertEngines(record);
  assert.deepEqual(record, {
    level: 80,
    time: NOW,
    pid: ENGINE_PID,
    name: ENGINE_LOG_NAME,
    engine: ENGINE_PID,
    msg: 'Exiting on signal 15 (Terminated)',
    child: 77,
    role: 'relay',
  });
});

test("in syslog, every engine line starts with the engine's name and pid, forged or not", () => {
  const entry = syslogEntry(engineLogLine(FORGED, ENGINE_PID, NOW), BOOTSTRAP);
  assert.equal(entry.priority, 'emerg');
  assert.equal(
    entry.text,
    `${ENGINE_LOG_NAME}[${ENGINE_PID}]: Exiting on signal 15 (Terminated) [child=77 role=relay]`,
  );
  const crash = syslogEntry(engineLogLine('TypeError: x is not a function', ENGINE_PID, NOW), BOOTSTRAP);
  assert.deepEqual(crash, {
    priority: 'err',
    text: `${ENGINE_LOG_NAME}[${ENGINE_PID}]: TypeError: x is not a function`,
  });
  // The bootstrap's own lines stay as they were.
  const own = syslogEntry(
    `${JSON.stringify({ level: 35, pid: 100, name: 'miredo', msg: 'Starting...' })}\n`,
    BOOTSTRAP,
  );
  assert.deepEqual(own, { priority: 'notice', text: 'Starting...' });
});

test('only plainly named fields pass, at most MAX_ENGINE_FIELDS of them', () => {
  const fields = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`f${i}`, i]));
  const line = `{"level":30,"msg":"m","__proto__":{"polluted":1},"constructor":1,"a b":1,"x=y":2,"":3,${JSON.stringify(fields).slice(1)}`;
  const record = forwarded(line);
  assertEngines(record);
  assert.equal(Object.getPrototypeOf(record), Object.prototype);
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  const extra = Object.keys(record).filter(
    (key) => !['level', 'time', 'pid', 'name', 'engine', 'msg'].includes(key),
  );
  assert.equal(extra.length, MAX_ENGINE_FIELDS);
  assert.ok(
    extra.every((key) => /^[A-Za-z][A-Za-z0-9_]*$/.test(key)),
    extra.join(','),
  );
  assert.ok(!extra.includes('a b') && !extra.includes('x=y'));
});

test("output that is not a pino record is wrapped at error level, marked as the engine's", () => {
  for (const line of ['    at foo (x.js:1:1)', '{"level":31,"msg":"x"}', '[1,2]', '{bad json']) {
    const record = forwarded(line);
    assertEngines(record);
    assert.equal(record['level'], LOG_LEVELS.error);
    assert.equal(record['msg'], line);
  }
});

test('a line that would be over-long is cut and says so', () => {
  const control = '\u0001'.repeat(MAX_LOG_LINE);
  const record = forwarded(control);
  assertEngines(record);
  assert.equal(record['truncated'], true);
  assert.ok(String(record['msg']).length < MAX_LOG_LINE);
  const big = forwarded(JSON.stringify({ level: 30, msg: 'x'.repeat(MAX_LOG_LINE - 40) }));
  assert.equal(big['truncated'], true);
});

test('whatever the engine writes, the forwarded line is one bounded JSON record of the engine', () => {
  const jsonish = fc.oneof(
    fc.string({ maxLength: 200 }),
    fc
      .dictionary(
        fc.oneof(fc.constantFrom('level', 'name', 'pid', 'engine', 'msg', 'time', '__proto__'), fc.string()),
        fc.jsonValue({ maxDepth: 3 }),
      )
      .map((object) => JSON.stringify(object)),
    fc.record({ level: fc.constantFrom(...LEVEL_VALUES), msg: fc.string() }).map((r) => JSON.stringify(r)),
  );
  fc.assert(
    fc.property(jsonish, (line) => {
      const record = forwarded(line);
      assertEngines(record);
      const text = syslogEntry(engineLogLine(line, ENGINE_PID, NOW), BOOTSTRAP).text;
      assert.ok(text.startsWith(`${ENGINE_LOG_NAME}[${ENGINE_PID}]: `), text);
    }),
    { numRuns: 2000 },
  );
});
