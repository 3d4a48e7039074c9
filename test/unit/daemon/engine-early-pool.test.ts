/**
 * The data-plane threads that engine-main.ts starts before `init` (early-pool.ts): the size the
 * bootstrap puts on the engine's command line, and an engine that runs its workers on those
 * threads when the size matches and makes its own pool (ending the early one) when it does not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import {
  createDataplanePiscina,
  parseWorkersArgument,
  workersArgument,
} from '../../../src/daemon/early-pool.js';
import type { EarlyPool } from '../../../src/daemon/early-pool.js';
import type { InitMessage } from '../../../src/daemon/ipc.js';
import { closeFd } from '../../../src/os/fd.js';
import { openUdp4 } from '../../../src/os/udp.js';
import { createTestEngine, RELAY_INIT } from './fakes.js';

const DATAPLANE = fileURLToPath(new URL('../../../src/daemon/dataplane.js', import.meta.url));

test('the workers argument round-trips, and anything malformed means "no early pool"', () => {
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

/** An early pool of `size` threads that counts the tasks run on it. */
function countingEarlyPool(size: number): EarlyPool & { readonly tasksRun: () => number } {
  const pool = createDataplanePiscina(DATAPLANE, size);
  let tasksRun = 0;
  const run = pool.run.bind(pool);
  pool.run = (task, options) => {
    tasksRun += 1;
    return run(task, options);
  };
  return { pool, size, tasksRun: () => tasksRun };
}

async function runEngine(early: EarlyPool): Promise<void> {
  const { init, close } = relayInit();
  try {
    const { engine, sent, records, exited } = createTestEngine(DATAPLANE, {
      early,
      canReplaceWorkers: () => true,
    });
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

test(
  'an engine runs its workers on the early threads when the size matches',
  { timeout: 30_000 },
  async () => {
    const early = countingEarlyPool(2);
    await runEngine(early);
    assert.equal(early.tasksRun(), 2, 'both workers ran on the early pool');
    assert.equal(early.pool.threads.length, 0, 'the engine ended the pool it used');
  },
);

test('an engine told another size ends the early pool and makes its own', { timeout: 30_000 }, async () => {
  const early = countingEarlyPool(1);
  await runEngine(early);
  assert.equal(early.tasksRun(), 0);
  assert.equal(early.pool.threads.length, 0, 'the unused early pool was ended');
});
