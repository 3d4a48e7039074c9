/**
 * The control socket end to end without a daemon: the engine's server (src/engine/
 * control-server.ts) on a listening descriptor from src/os/listeners.ts, and miredo-ctl's client
 * (src/cli/ctl-client.ts). Bad frames and requests get an error reply and hurt nothing; the
 * client's failures map to miredo-ctl's exit statuses.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openUnixListener } from '../../../src/os/listeners.js';
import { serveControlSocket } from '../../../src/engine/control-server.js';
import type { Listening } from '../../../src/engine/control-server.js';
import { CTL_EXIT, queryDaemon } from '../../../src/cli/ctl-client.js';
import { createFrameDecoder, encodeFrame } from '../../../src/ipc/frames.js';
import type { ControlReply, ControlRequest } from '../../../src/ipc/control-protocol.js';
import { createLogger } from '../../../src/log/logger.js';

let dir = '';
let path = '';
let server: Listening | undefined;
const seen: ControlRequest[] = [];

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'mts-ctl-'));
  path = join(dir, 'miredo.ctl');
  const fd = openUnixListener(path);
  const log = createLogger({ name: 'test', sink: { write: () => undefined }, level: 'emergency' });
  server = serveControlSocket(
    fd,
    (request) => {
      seen.push(request);
      const reply: ControlReply = { kind: 'counters', counters: { 'tun-received': seen.length } };
      return Promise.resolve(reply);
    },
    log,
  );
});

after(() => {
  server?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Sends raw bytes, returns the decoded reply frame (or null when the server just closed). */
function rawExchange(bytes: Buffer): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const decoder = createFrameDecoder();
    const socket = createConnection({ path }, () => socket.write(bytes));
    socket.on('data', (chunk: Buffer) => {
      const event = decoder.push(chunk)[0];
      if (event?.kind === 'message') resolve(event.value);
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(null));
  });
}

test('a request gets its reply, checked by the client', async () => {
  const result = await queryDaemon(path, { command: 'counters' });
  assert.ok(result.ok);
  assert.equal(result.reply.kind, 'counters');
  assert.deepEqual(seen.at(-1), { command: 'counters' });
});

test('an oversized frame is refused from its header, before its bytes; the server goes on', async () => {
  const header = Buffer.alloc(4);
  header.writeUInt32BE(64 * 1024 * 1024);
  const count = seen.length;
  const reply = (await rawExchange(header)) as ControlReply;
  assert.equal(reply.kind, 'error');
  assert.ok(reply.kind === 'error' && reply.error === 'bad-request' && /at most 1024/.test(reply.message));
  assert.equal(seen.length, count, 'not passed on');
  assert.ok((await queryDaemon(path, { command: 'status' })).ok);
});

test('bad JSON and requests outside the schema get a bad-request reply', async () => {
  const count = seen.length;
  const notJson = Buffer.from('{"command":');
  const frame = Buffer.concat([Buffer.from([0, 0, 0, notJson.length]), notJson]);
  for (const bytes of [
    frame,
    encodeFrame({ command: 'reload' }),
    encodeFrame({ command: 'peers', limit: 10_000 }),
    encodeFrame({ command: 'status', exec: '/bin/sh' }),
  ]) {
    const reply = (await rawExchange(bytes)) as ControlReply;
    assert.equal(reply.kind, 'error', JSON.stringify(reply));
  }
  assert.equal(seen.length, count);
});

test('many clients at once are all served or refused, none hangs', async () => {
  const results = await Promise.all(
    Array.from({ length: 32 }, () => queryDaemon(path, { command: 'counters' }, 5000)),
  );
  assert.ok(results.some((result) => result.ok));
  for (const result of results) if (!result.ok) assert.equal(result.status, CTL_EXIT.failed);
});

test('no socket: "not running" (exit 3); no access: "permission denied" (exit 4) when not root', async (t) => {
  const missing = await queryDaemon(join(dir, 'absent.ctl'), { command: 'status' });
  assert.deepEqual(missing.ok ? null : missing.status, CTL_EXIT.notRunning);
  if (process.getuid?.() === 0) {
    t.diagnostic('root ignores file modes: the integration test checks the refusal as nobody');
    return;
  }
  chmodSync(path, 0o600);
  try {
    const locked = await queryDaemon(path, { command: 'status' });
    assert.deepEqual(locked.ok ? null : locked.status, CTL_EXIT.permissionDenied);
  } finally {
    chmodSync(path, 0o660);
  }
});
