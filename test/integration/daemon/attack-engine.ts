/**
 * Engine doubles that attack the root bootstrap through its channel (issue 11, findings 2 and
 * 4), started by the real supervisor in attack-harness.ts. Each engine start takes the next step
 * of the plan in its state directory (`plan.json`; the count of starts is kept in `starts`):
 *
 *   quiet      `ready`, then nothing (the test kills it to move on)
 *   fd-flood   python3 sends `ready`, then 2,000 more `ready` frames each carrying 4 descriptors
 *              (SCM_RIGHTS), then a request the policy refuses; its reply proves all were read;
 *              logs "attack: fds sent", then waits
 *   huge       a header announcing a 600 MiB frame, then 600 MiB of bytes
 *   garbage    a frame of broken JSON
 *   flood-die  `ready`; on SIGUSR2, client-state up (whose hook is slow), 60 set-address, exit
 *   fuzz       `ready`, then every frame of `fuzz-frames.bin` (helper requests made by the fuzzer,
 *              bootstrap-fuzz.test.ts); logs "attack: fuzz done" with the replies counted by result
 *
 * Nothing happens on import (node --test loads this file).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { openFrameChannel } from '../../../src/ipc/channel.js';
import { parseBootstrapToEngine } from '../../../src/ipc/bootstrap-engine-messages.js';
import type { InitMessage } from '../../../src/ipc/bootstrap-engine-messages.js';
import { ENGINE_IPC_FD } from '../../support/engine-channel.js';

export type AttackStep = 'quiet' | 'fd-flood' | 'huge' | 'garbage' | 'flood-die' | 'fuzz';

export const FUZZ_FRAMES_FILE = 'fuzz-frames.bin';
const FUZZ_WINDOW = 32;

export const HUGE_FRAME_BYTES = 600 * 1024 * 1024;
export const FLOOD_REQUESTS = 60;

const FD_FLOOD = String.raw`
import ctypes, json, os, socket, struct, sys
ctypes.CDLL(None).prctl(1, 9)  # PR_SET_PDEATHSIG: SIGKILL when the engine double dies
s = socket.socket(fileno=3)
def frame(obj):
    p = json.dumps(obj).encode()
    return struct.pack('>I', len(p)) + p
def exactly(n):
    b = b''
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            sys.exit(0)
        b += c
    return b
def read_frame():
    return json.loads(exactly(struct.unpack('>I', exactly(4))[0]))
init = read_frame()
ready = frame({'type': 'ready', 'pid': os.getpid(), 'workers': init['poolSize']})
s.sendall(ready)
r, w = os.pipe()
for i in range(2000):
    socket.send_fds(s, [ready], [r, w, 0, 1])
s.sendall(frame({'type': 'set-mtu', 'id': 4242, 'ifindex': init['interface']['index'], 'mtu': 1000}))
while True:
    m = read_frame()
    if m.get('type') == 'reply' and m.get('id') == 4242:
        break
sys.stderr.write(json.dumps({'level': 30, 'msg': 'attack: fds sent', 'result': m['result']}) + '\n')
sys.stderr.flush()
while s.recv(65536):
    pass
`;

function log(fields: Record<string, unknown>): void {
  process.stderr.write(`${JSON.stringify({ level: 30, time: Date.now(), pid: process.pid, ...fields })}\n`);
}

function nextStep(stateDir: string): AttackStep {
  const startsFile = join(stateDir, 'starts');
  const starts = existsSync(startsFile) ? Number(readFileSync(startsFile, 'utf8')) : 0;
  writeFileSync(startsFile, String(starts + 1));
  const plan = JSON.parse(readFileSync(join(stateDir, 'plan.json'), 'utf8')) as AttackStep[];
  return plan[starts] ?? 'quiet';
}

async function writeAll(socket: Socket, chunks: Iterable<Buffer>): Promise<void> {
  for (const chunk of chunks) {
    if (socket.destroyed) return;
    if (!socket.write(chunk)) await Promise.race([once(socket, 'drain'), once(socket, 'close')]);
  }
}

function* hugeFrame(): Generator<Buffer> {
  const header = Buffer.alloc(4);
  header.writeUInt32BE(HUGE_FRAME_BYTES);
  yield header;
  const chunk = Buffer.alloc(1024 * 1024, 'a');
  for (let sent = 0; sent < HUGE_FRAME_BYTES; sent += chunk.length) yield chunk;
}

function garbageFrame(): Buffer {
  const payload = Buffer.from('{"type":"ready",');
  const header = Buffer.alloc(4);
  header.writeUInt32BE(payload.length);
  return Buffer.concat([header, payload]);
}

function floodThenDie(socket: Socket, init: InitMessage, send: (message: unknown) => void): void {
  const ifindex = init.interface?.index ?? 0;
  send({ type: 'client-state', id: 1, ifindex, state: 'up', address: '2001::1', mtu: 1280 });
  for (let i = 0; i < FLOOD_REQUESTS; i++) {
    const id = i + 2;
    send({ type: 'set-address', id, ifindex, address: `2001::${id.toString(16)}`, prefixLen: 128 });
  }
  log({ msg: 'attack: flood sent, exiting' });
  socket.end(() => process.exit(0));
}

export async function runAttackEngine(stateDir: string): Promise<void> {
  const step = nextStep(stateDir);
  log({ msg: 'attack: start', step });
  if (step === 'fd-flood') {
    const python = spawn('python3', ['-c', FD_FLOOD], {
      stdio: ['ignore', 'inherit', 'inherit', ENGINE_IPC_FD],
    });
    python.on('exit', (code) => process.exit(code ?? 1));
    return;
  }
  const socket = new Socket({ fd: ENGINE_IPC_FD, readable: true, writable: true });
  if (step === 'huge') return writeAll(socket, hugeFrame());
  if (step === 'garbage') return writeAll(socket, [garbageFrame()]);
  // The file: a count of frames (uint32), then the frames as the channel carries them.
  const frames = step === 'fuzz' ? readFileSync(join(stateDir, FUZZ_FRAMES_FILE)) : null;
  const replies = { expected: Number(frames?.readUInt32BE(0) ?? 0), ok: 0, refused: 0, failed: 0 };
  let nextFrame = 4;
  const sendNextFrame = (): void => {
    if (frames === null || nextFrame >= frames.length) return;
    const end = nextFrame + 4 + frames.readUInt32BE(nextFrame);
    socket.write(frames.subarray(nextFrame, end));
    nextFrame = end;
  };
  const channel = openFrameChannel(socket, {
    message: (raw) => {
      const parsed = parseBootstrapToEngine(raw);
      if (!parsed.ok) return;
      const message = parsed.message;
      if (message.type === 'stop') process.exit(0);
      if (message.type === 'reply') {
        replies[message.result.ok ? 'ok' : message.result.kind] += 1;
        if (replies.ok + replies.refused + replies.failed === replies.expected)
          log({ msg: 'attack: fuzz done', ...replies });
        else sendNextFrame();
        return;
      }
      if (message.type !== 'init') return;
      channel.send({ type: 'ready', pid: process.pid, workers: message.poolSize });
      // A window of requests in flight, one more per reply: both ends stop reading while their
      // own writes wait, so a writer that never reads would stall the channel.
      for (let i = 0; i < FUZZ_WINDOW; i++) sendNextFrame();
      if (step === 'flood-die')
        process.on('SIGUSR2', () => floodThenDie(socket, message, (request) => channel.send(request)));
    },
    violation: () => process.exit(2),
    closed: () => process.exit(0),
  });
}
