import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  isLogLevel,
  LOG_LEVEL_NAMES,
  LOG_LEVELS,
  levelFromValue,
  syslogPriority,
  syslogPriorityName,
} from '../../../src/log/levels.js';
import { createLogger } from '../../../src/log/logger.js';
import { createLineSplitter } from '../../../src/log/line-splitter.js';
import { MAX_LOG_LINE, parseLogLine, syslogText } from '../../../src/log/record.js';

test('levels map to syslog priorities 7 (debug) .. 0 (emergency)', () => {
  assert.deepEqual(
    LOG_LEVEL_NAMES.map((level) => [level, syslogPriority(level), syslogPriorityName(level)]),
    [
      ['debug', 7, 'debug'],
      ['info', 6, 'info'],
      ['notice', 5, 'notice'],
      ['warning', 4, 'warning'],
      ['error', 3, 'err'],
      ['critical', 2, 'crit'],
      ['alert', 1, 'alert'],
      ['emergency', 0, 'emerg'],
    ],
  );
});

test('pino values grow with severity and map back to their names', () => {
  for (let i = 1; i < LOG_LEVEL_NAMES.length; i += 1) {
    const lower = LOG_LEVEL_NAMES[i - 1] ?? 'debug';
    const higher = LOG_LEVEL_NAMES[i] ?? 'debug';
    assert.ok(LOG_LEVELS[higher] > LOG_LEVELS[lower]);
  }
  for (const name of LOG_LEVEL_NAMES) assert.equal(levelFromValue(LOG_LEVELS[name]), name);
  assert.equal(levelFromValue(10), null);
  assert.equal(levelFromValue('30'), null);
  assert.ok(isLogLevel('notice'));
  assert.ok(!isLogLevel('trace'));
  assert.ok(!isLogLevel('toString'));
});

test('the logger writes one JSON line per call with only the syslog-like levels', () => {
  const lines: string[] = [];
  const log = createLogger({ name: 'miredo', sink: { write: (line) => lines.push(line) }, level: 'notice' });
  log.info('hidden');
  log.notice('Child %d exited (code: %d)', 42, 1);
  log.warning({ child: 42 }, 'Refused');
  log.emergency('gone');
  assert.equal(lines.length, 3);
  const first = JSON.parse(lines[0] ?? '') as Record<string, unknown>;
  assert.equal(first['level'], LOG_LEVELS.notice);
  assert.equal(first['msg'], 'Child 42 exited (code: 1)');
  assert.equal(first['name'], 'miredo');
  assert.equal(first['pid'], process.pid);
  assert.equal((JSON.parse(lines[1] ?? '') as Record<string, unknown>)['child'], 42);
  assert.equal((JSON.parse(lines[2] ?? '') as Record<string, unknown>)['level'], 80);
  assert.ok(lines.every((line) => line.endsWith('\n') && line.indexOf('\n') === line.length - 1));
  assert.equal((log as unknown as Record<string, unknown>)['trace'], undefined);
});

test('parseLogLine accepts pino records and nothing else', () => {
  const record = parseLogLine(
    '{"level":35,"time":1,"pid":9,"name":"miredo-engine","msg":"Starting...","role":"relay"}',
  );
  assert.deepEqual(record, {
    level: 'notice',
    msg: 'Starting...',
    fields: { pid: 9, name: 'miredo-engine', role: 'relay' },
  });
  for (const junk of [
    '',
    'Error: boom',
    '    at foo (x.js:1:1)',
    '[1,2]',
    '{"level":31}',
    '{"msg":"x"}',
    '{bad json',
    'null',
  ]) {
    assert.equal(parseLogLine(junk), null, junk);
  }
  assert.equal(parseLogLine(`{"level":30,"msg":"${'x'.repeat(MAX_LOG_LINE)}"}`), null);
});

test("syslogText: message, then fields; another process's record starts with its name[pid]; no control characters", () => {
  const record = parseLogLine(
    '{"level":30,"pid":9,"name":"miredo","msg":"Child 5 exited\\n(code: 1)","child":5,"why":"a b"}',
  );
  assert.ok(record !== null);
  if (record === null) return;
  assert.equal(
    syslogText(record, { name: 'miredo', pid: 9 }),
    'Child 5 exited (code: 1) [child=5 why="a b"]',
  );
  assert.equal(
    syslogText(record, { name: 'miredo', pid: 10 }),
    'miredo[9]: Child 5 exited (code: 1) [child=5 why="a b"]',
  );
});

test('the line splitter joins chunks, splits lines, bounds length and keeps UTF-8 whole', () => {
  const lines: string[] = [];
  const splitter = createLineSplitter((line) => lines.push(line), 10);
  splitter.push('ab');
  splitter.push('c\nde\n\nf');
  splitter.push(Buffer.from('é\n').subarray(0, 1));
  splitter.push(Buffer.from('é\n').subarray(1));
  splitter.push('0123456789ABCDEF');
  splitter.push('GHI\nlast');
  splitter.end();
  assert.deepEqual(lines, ['abc', 'de', 'fé', '0123456789', 'last']);
});
