/** miredo-ctl's command line (src/cli/ctl-args.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_CTL_PID_FILE, parseCtlArgs } from '../../../src/cli/ctl-args.js';

test('a command, with -p, --json, and for peers --filter and --limit', () => {
  assert.deepEqual(parseCtlArgs(['status']), {
    ok: true,
    args: { action: 'run', pidFile: DEFAULT_CTL_PID_FILE, json: false, request: { command: 'status' } },
  });
  assert.deepEqual(
    parseCtlArgs(['-p', '/run/miredo-server.pid', '--json', 'peers', '-F', '2001::/32', '-n', '5']),
    {
      ok: true,
      args: {
        action: 'run',
        pidFile: '/run/miredo-server.pid',
        json: true,
        request: { command: 'peers', filter: '2001::/32', limit: 5 },
      },
    },
  );
  assert.deepEqual(parseCtlArgs(['--help']), { ok: true, args: { action: 'help' } });
  assert.deepEqual(parseCtlArgs(['-V']), { ok: true, args: { action: 'version' } });
});

test('usage errors: no command, unknown ones, bad filter or limit, stray arguments', () => {
  for (const argv of [
    [],
    ['reload'],
    ['status', 'extra'],
    ['peers', '-n', '0'],
    ['peers', '-n', '1001'],
    ['peers', '-n', 'ten'],
    ['peers', '-F', 'nowhere'],
    ['counters', '-n', '3'],
    ['--bogus', 'status'],
    ['-p'],
  ]) {
    assert.equal(parseCtlArgs(argv).ok, false, argv.join(' '));
  }
});

test('withdraw and announce (maintenance) take only --pidfile', () => {
  assert.deepEqual(parseCtlArgs(['-p', '/run/relay.pid', 'withdraw']), {
    ok: true,
    args: { action: 'withdraw', pidFile: '/run/relay.pid' },
  });
  assert.deepEqual(parseCtlArgs(['announce']), {
    ok: true,
    args: { action: 'announce', pidFile: DEFAULT_CTL_PID_FILE },
  });
  for (const argv of [
    ['withdraw', 'now'],
    ['announce', '--json'],
    ['withdraw', '-n', '3'],
  ])
    assert.equal(parseCtlArgs(argv).ok, false, argv.join(' '));
});
