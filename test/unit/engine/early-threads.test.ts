/**
 * The data-plane threads that engine/main.ts starts before `init` (early-threads.ts): the size the
 * bootstrap puts on the engine's command line, and an engine that gives its workers those
 * threads when the size matches and ends them, starting its own, when it does not. Either way
 * every thread comes from the one program (dataplane-program.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DataplaneProgram, DataplaneThread } from '../../../src/engine/dataplane-program.js';
import { parseWorkersArgument, workersArgument } from '../../../src/ipc/engine-launch.js';
import { startEarlyThreads } from '../../../src/engine/early-threads.js';
import type { InitMessage } from '../../../src/ipc/bootstrap-engine-messages.js';
import { closeFd } from '../../../src/os/fd.js';
import { openUdp4 } from '../../../src/os/udp.js';
import { unprivilegedTest } from '../../support/unprivileged.js';
import { createTestEngine, dataplaneProgram, RELAY_INIT } from '../../support/fakes.js';

const workerTest = unprivilegedTest(import.meta.url);

test('the workers argument round-trips, and anything malformed means "no early threads"', () => {
  for (const size of [1, 2, 4, 64]) assert.equal(parseWorkersArgument([workersArgument(size)]), size);
  assert.equal(parseWorkersArgument(['--other', workersArgument(3)]), 3);
  for (const bad of [
    '--workers=',
    '--workers=0',
    '--workers=-1',
    '--workers=2x',
    '--workers=065',
    '--workers=65',
  ])
    assert.equal(parseWorkersArgument([bad]), null, bad);
  assert.equal(parseWorkersArgument([]), null);
});

/** Loopback sockets stand in for the TUN queues and UDP sockets of two relay workers. */
function relayInit(): { readonly init: InitMessage; readonly close: () => void } {
  const fds = Array.from({ length: 4 }, () => openUdp4('127.0.0.1', 0, { reusePort: false }));
  const [tunA = -1, tunB = -1, udpA = -1, udpB = -1] = fds;
  return {
    init: { ...RELAY_INIT, chrootDir: '/', fds: { tun: [tunA, tunB], udp: [udpA, udpB], raw: null } },
    close: () => fds.forEach((fd) => closeFd(fd)),
  };
}

/** The daemon's program, counting the threads started from it. */
function countingProgram(): DataplaneProgram & { readonly started: () => number } {
  let started = 0;
  return {
    startThread: () => {
      started += 1;
      return dataplaneProgram().startThread();
    },
    started: () => started,
  };
}

async function runEngine(program: DataplaneProgram, early: readonly DataplaneThread[]): Promise<void> {
  const { init, close } = relayInit();
  try {
    const { engine, sent, records, exited } = createTestEngine({ program, early });
    engine.handle(init);
    const deadline = Date.now() + 15_000;
    while (!sent.some((m) => m.type === 'ready')) {
      if (Date.now() > deadline)
        throw new Error(`engine not ready in time: ${records.map((r) => String(r['msg'])).join(' | ')}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    engine.handle({ type: 'stop' });
    assert.equal(await exited, 0);
  } finally {
    close();
  }
}

workerTest(
  'an engine runs its workers on the early threads when the size matches',
  { timeout: 30_000 },
  async () => {
    const program = countingProgram();
    const early = startEarlyThreads(program, [workersArgument(2)]);
    assert.equal(program.started(), 2);
    await runEngine(program, early);
    assert.equal(program.started(), 2, 'no other thread was started');
    await Promise.all(early.map((thread) => thread.ended));
  },
);

workerTest(
  'an engine told another size ends the early threads and starts its own',
  { timeout: 30_000 },
  async () => {
    const program = countingProgram();
    const early = startEarlyThreads(program, [workersArgument(1)]);
    await runEngine(program, early);
    assert.equal(program.started(), 3, 'the early one, then two of its own');
    await Promise.all(early.map((thread) => thread.ended));
  },
);

test('without the argument no thread starts early', () => {
  const program = countingProgram();
  assert.deepEqual(startEarlyThreads(program, ['--other']), []);
  assert.equal(program.started(), 0);
});
