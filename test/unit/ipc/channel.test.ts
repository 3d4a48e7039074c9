/**
 * The channel's I/O end (src/ipc/channel.ts) over real stream sockets: descriptors a peer attaches
 * never reach this process, a peer that does not read cannot make us buffer its replies without
 * bound, and a framing violation closes the channel.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openFrameChannel } from '../../../src/ipc/channel.js';
import type { FrameChannelHandlers } from '../../../src/ipc/channel.js';
import type { FrameViolation } from '../../../src/ipc/frames.js';
import { createFrameDecoder, encodeFrame } from '../../../src/ipc/frames.js';

const openFds = (): number => readdirSync('/proc/self/fd').length;
const hasPython = spawnSync('python3', ['-c', 'import socket; socket.send_fds']).status === 0;

/** A connected pair of Unix stream sockets. */
async function socketPair(t: { after(fn: () => void): void }): Promise<[Socket, Socket]> {
  const dir = mkdtempSync(join(tmpdir(), 'mts-channel-'));
  const path = join(dir, 'socket');
  const server = createServer();
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  await new Promise<void>((resolve) => server.listen(path, resolve));
  const client = connect(path);
  const other = await accepted;
  server.close();
  t.after(() => {
    client.destroy();
    other.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
  return [client, other];
}

function handlers(overrides: Partial<FrameChannelHandlers> = {}): FrameChannelHandlers {
  return { message: () => undefined, violation: () => undefined, closed: () => undefined, ...overrides };
}

test(
  'descriptors sent with SCM_RIGHTS are never installed in the reader',
  { skip: !hasPython && 'needs python3' },
  async () => {
    // The socketpair libuv makes for a 'pipe' in spawn's stdio, as between bootstrap and engine.
    const script = [
      'import os, socket, struct, json',
      's = socket.socket(fileno=3)',
      'r, w = os.pipe()',
      'for i in range(2000):',
      '    p = json.dumps({"type": "ready", "pid": os.getpid(), "workers": 1}).encode()',
      '    socket.send_fds(s, [struct.pack(">I", len(p)) + p], [r, w, 0, 1])',
      's.recv(16)',
    ].join('\n');
    const child = spawn('python3', ['-c', script], { stdio: ['ignore', 'inherit', 'inherit', 'pipe'] });
    const before = openFds();
    let received = 0;
    let peak = before;
    const done = new Promise<void>((resolve) => {
      const channel = openFrameChannel(
        child.stdio[3] as Socket,
        handlers({
          message: () => {
            received += 1;
            if (received % 100 === 0) peak = Math.max(peak, openFds());
            if (received === 2000) {
              channel.send('done');
              resolve();
            }
          },
        }),
      );
    });
    await done;
    assert.equal(received, 2000);
    // 8,000 descriptors were sent: a reader that accepted them would hold thousands more. (One
    // of Node's own may come and go meanwhile.)
    assert.ok(peak - before <= 2, `descriptors: ${before} before, up to ${peak} while 8,000 were sent`);
    await new Promise((resolve) => child.once('close', resolve));
    assert.ok(openFds() <= before, `descriptors: ${before} before, ${openFds()} after`);
  },
);

test('while the peer does not read our replies, we stop reading its requests', async (t) => {
  const [ours, theirs] = await socketPair(t);
  const reply = 'r'.repeat(1024);
  let handled = 0;
  let peakBuffered = 0;
  let paused: (handled: number) => void = () => undefined;
  const pausedAt = new Promise<number>((resolve) => (paused = resolve));
  const channel = openFrameChannel(
    ours,
    handlers({
      message: () => {
        handled += 1;
        channel.send(reply);
        peakBuffered = Math.max(peakBuffered, ours.writableLength);
        if (ours.isPaused()) paused(handled);
      },
    }),
  );
  // 20,000 requests asking for 20 MB of replies, which the peer does not read yet.
  const requests = Buffer.concat(Array.from({ length: 20_000 }, (_, id) => encodeFrame({ id })));
  theirs.pause();
  theirs.write(requests);
  const whenPaused = await pausedAt;
  // Paused, nothing more is delivered, however long the peer does not read.
  for (let turn = 0; turn < 20; turn++) await new Promise((resolve) => setImmediate(resolve));
  assert.equal(handled, whenPaused, 'nothing delivered while paused');
  assert.ok(handled < 20_000, `handled ${handled} without the peer reading`);
  // write() says "wait" past the socket's high-water mark (16 KiB up to Node 20, 64 KiB from 22
  // on): at most one reply more than that is buffered.
  const bound = ours.writableHighWaterMark + encodeFrame(reply).length;
  assert.ok(peakBuffered <= bound, `buffered ${peakBuffered} bytes of replies (bound ${bound})`);
  // Once the peer reads, everything is served.
  const decoder = createFrameDecoder();
  let replies = 0;
  const allRead = new Promise<void>((resolve) =>
    theirs.on('data', (chunk: Buffer) => {
      replies += decoder.push(chunk).length;
      if (replies === 20_000) resolve();
    }),
  );
  theirs.resume();
  await allRead;
  assert.equal(handled, 20_000);
});

test('a violation closes the channel and is reported once; nothing after it is delivered', async (t) => {
  const [ours, theirs] = await socketPair(t);
  const messages: unknown[] = [];
  const violations: FrameViolation[] = [];
  let closed = 0;
  const reported = new Promise<void>((resolve) => {
    openFrameChannel(
      ours,
      handlers({
        message: (value) => messages.push(value),
        violation: (violation) => {
          violations.push(violation);
          resolve();
        },
        closed: () => (closed += 1),
      }),
    );
  });
  const junk = Buffer.from('{"type":');
  const header = Buffer.alloc(4);
  header.writeUInt32BE(junk.length);
  theirs.write(Buffer.concat([encodeFrame('first'), header, junk, encodeFrame('after')]));
  await reported;
  await new Promise((resolve) => ours.once('close', resolve));
  assert.deepEqual(messages, ['first']);
  assert.deepEqual(violations, [{ kind: 'invalid-json' }]);
  assert.equal(closed, 0);
  assert.equal(ours.destroyed, true);
});

test('the peer closing is reported once', async (t) => {
  const [ours, theirs] = await socketPair(t);
  let closed = 0;
  const ended = new Promise<void>((resolve) => {
    openFrameChannel(
      ours,
      handlers({
        closed: () => {
          closed += 1;
          resolve();
        },
      }),
    );
  });
  theirs.end();
  await ended;
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(closed, 1);
});
