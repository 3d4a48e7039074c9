/**
 * A data-plane worker that crashes (test-only fault injection: it throws from its packet
 * loop's readiness callback) is replaced in place by the real engine and pool, from the program
 * held in memory: same engine, same descriptors (the replacement reads the crashed worker's
 * socket), counted in the summary; and every way replacement must NOT happen ends the engine
 * with an alert instead: a failure before the engine is jailed, a crash loop, a replacement that
 * cannot load.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DATAPLANE_BUNDLE,
  loadDataplaneProgram,
  programFromSource,
} from '../../../src/engine/dataplane-program.js';
import type { DataplaneProgram } from '../../../src/engine/dataplane-program.js';
import type { EngineEnvironment } from '../../../src/engine/engine.js';
import { FAULT_INJECTION_ENV } from '../../../src/ipc/engine-launch.js';
import type { EngineSummary, InitMessage } from '../../../src/ipc/bootstrap-engine-messages.js';
import { closeFd } from '../../../src/os/fd.js';
import { localPort, openUdp4 } from '../../../src/os/udp.js';
import { unprivilegedTest } from '../../support/unprivileged.js';
import { createTestEngine, dataplaneProgram, RELAY_INIT } from '../../support/fakes.js';

const workerTest = unprivilegedTest(import.meta.url);
/** A data-plane thread whose module throws as it loads. */
const BROKEN = "throw new Error('cannot load');";

// Worker threads copy the environment when they start: the switch must be on before the pools.
const previousSwitch = process.env[FAULT_INJECTION_ENV];
before(() => {
  process.env[FAULT_INJECTION_ENV] = '1';
});
after(() => {
  if (previousSwitch === undefined) delete process.env[FAULT_INJECTION_ENV];
  else process.env[FAULT_INJECTION_ENV] = previousSwitch;
});

/** Loopback sockets stand in for the TUN queues and UDP sockets of two relay workers. */
function descriptors(): { readonly init: InitMessage; readonly close: () => void } {
  const fds = Array.from({ length: 4 }, () => openUdp4('127.0.0.1', 0, { reusePort: false }));
  const [tunA = -1, tunB = -1, udpA = -1, udpB = -1] = fds;
  return {
    init: {
      ...RELAY_INIT,
      chrootDir: '/',
      fds: { tun: [tunA, tunB], udp: [udpA, udpB], raw: null },
      logLevel: 'debug',
    },
    close: () => fds.forEach((fd) => closeFd(fd)),
  };
}

/**
 * A server engine (one worker; loopback sockets for its two UDP sockets and its raw socket): its
 * control plane has no timers, so an engine that ends with an error leaves nothing running.
 */
function serverDescriptors(): { readonly init: InitMessage; readonly close: () => void } {
  const fds = Array.from({ length: 3 }, () => openUdp4('127.0.0.1', 0, { reusePort: false }));
  const [primary = -1, secondary = -1, raw = -1] = fds;
  return {
    init: {
      ...RELAY_INIT,
      config: {
        role: 'server',
        serverBindAddress: '192.0.2.1',
        serverBindAddress2: '192.0.2.2',
        prefix: 0x20010000,
        interfaceMtu: 1280,
        rsRateLimit: { perSecond: 50, burst: 100 },
        forwardRateLimit: { perSecond: 1000, burst: 2000 },
      },
      interface: null,
      chrootDir: '/',
      poolSize: 1,
      fds: { tun: [], udp: [primary, secondary], raw },
      logLevel: 'debug',
    },
    close: () => fds.forEach((fd) => closeFd(fd)),
  };
}

function harness(overrides: Partial<EngineEnvironment> = {}) {
  const { engine, sent, records, exited } = createTestEngine({ faultInjection: true, ...overrides });
  const messages = (): string[] => records.map((record) => String(record['msg']));
  const until = async (condition: () => boolean, what: string): Promise<void> => {
    const deadline = Date.now() + 15_000;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${messages().join(' | ')}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };
  let nextSummary = 1;
  /** The engine answers a summary request synchronously. */
  const summary = (): EngineSummary => {
    const id = nextSummary++;
    engine.handle({ type: 'summary', id });
    const report = sent.find((m) => m.type === 'summary-report' && m.id === id);
    assert.ok(report?.type === 'summary-report');
    return report.summary;
  };
  return { engine, sent, records, exited, messages, until, summary };
}

workerTest(
  'a crashed worker is replaced in place and reads its socket again; the engine stays; stop is clean',
  { timeout: 60_000 },
  async () => {
    const { init, close } = descriptors();
    const sender = createSocket('udp4');
    try {
      const h = harness();
      h.engine.handle(init);
      await h.until(() => h.sent.some((m) => m.type === 'ready'), 'ready');

      assert.equal(h.engine.injectFault(0), true);
      await h.until(
        () => h.messages().some((m) => /^Data-plane worker 0 replaced in \d+ ms$/.test(m)),
        'replaced',
      );
      const failure = h.records.find((r) => String(r['msg']).startsWith('Data-plane worker 0 failed'));
      assert.equal(failure?.['level'], 50, 'logged at error level');
      assert.match(String(failure?.['msg']), /fault injection: data-plane worker 0 crashed on purpose/);
      const replaced = h.records.find((r) => /replaced in/.test(String(r['msg'])));
      assert.equal(typeof replaced?.['ms'], 'number');

      // The replacement owns worker 0's UDP socket: a datagram to it is read and counted.
      const received = (): number => h.summary().counters['udp-received'] ?? 0;
      const before = received();
      sender.bind(0, '127.0.0.1');
      await once(sender, 'listening');
      sender.send(new Uint8Array(8), localPort(init.fds.udp[0] ?? -1), '127.0.0.1');
      await h.until(() => received() > before, 'the datagram counted');

      // The other worker too, and the counts add up.
      assert.equal(h.engine.injectFault(1), true);
      await h.until(
        () => h.messages().some((m) => /^Data-plane worker 1 replaced in/.test(m)),
        'worker 1 replaced',
      );
      const counters = h.summary().counters;
      assert.equal(counters['worker-failed'], 2);
      assert.equal(counters['worker-replaced'], 2);
      assert.ok(!h.messages().some((m) => m === 'Terminated with error(s).'));

      h.engine.handle({ type: 'stop' });
      assert.equal(await h.exited, 0);
    } finally {
      sender.close();
      close();
    }
  },
);

test('a worker that dies before the engine is jailed ends the engine', { timeout: 30_000 }, async () => {
  const { init, close } = serverDescriptors();
  try {
    const h = harness({
      program: programFromSource(BROKEN),
    });
    h.engine.handle(init);
    assert.equal(await h.exited, 1);
    assert.ok(!h.sent.some((m) => m.type === 'ready'));
    const alert = h.records.find((r) => r['level'] === 70);
    assert.match(
      String(alert?.['msg']),
      /^Miredo setup failure: worker 0 ended before it was ready: cannot load$/,
    );
  } finally {
    close();
  }
});

workerTest(
  'the replacement runs from memory: the program file may be gone by then',
  { timeout: 60_000 },
  async () => {
    const { init, close } = serverDescriptors();
    const dir = mkdtempSync(join(tmpdir(), 'engine-replacement-'));
    const copy = join(dir, 'dataplane.cjs');
    copyFileSync(DATAPLANE_BUNDLE, copy);
    try {
      const h = harness({ program: loadDataplaneProgram(copy) });
      rmSync(dir, { recursive: true, force: true });
      h.engine.handle(init);
      await h.until(() => h.sent.some((m) => m.type === 'ready'), 'ready');
      assert.equal(h.engine.injectFault(0), true);
      await h.until(() => h.messages().some((m) => /^Data-plane worker 0 replaced in/.test(m)), 'replaced');
      await h.until(
        () => h.messages().filter((m) => /^Data-plane worker 0 reads as uid/.test(m)).length === 2,
        'the replacement reading',
      );
      h.engine.handle({ type: 'stop' });
      assert.equal(await h.exited, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      close();
    }
  },
);

workerTest('a crash loop gives up instead of replacing forever', { timeout: 30_000 }, async () => {
  const { init, close } = serverDescriptors();
  try {
    const h = harness({ replacementPolicy: { maxFailures: 1, windowMs: 60_000 } });
    h.engine.handle(init);
    await h.until(() => h.sent.some((m) => m.type === 'ready'), 'ready');
    h.engine.injectFault(0);
    await h.until(
      () => h.messages().some((m) => /^Data-plane worker 0 replaced/.test(m)),
      'first replacement',
    );
    h.engine.injectFault(0);
    assert.equal(await h.exited, 1);
    const alert = h.records.find((r) => r['level'] === 70);
    assert.equal(alert?.['msg'], 'Data-plane workers failed 2 times within 60 s; giving up');
  } finally {
    close();
  }
});

workerTest('a replacement that cannot load ends the engine', { timeout: 30_000 }, async () => {
  const { init, close } = serverDescriptors();
  // The first thread runs the real program, the replacement a module that throws as it loads.
  let started = 0;
  const broken = programFromSource(BROKEN);
  const program: DataplaneProgram = {
    startThread: () => (started++ === 0 ? dataplaneProgram() : broken).startThread(),
  };
  try {
    const h = harness({ program });
    h.engine.handle(init);
    await h.until(() => h.sent.some((m) => m.type === 'ready'), 'ready');
    h.engine.injectFault(0);
    assert.equal(await h.exited, 1);
    const alert = h.records.find((r) => r['level'] === 70);
    assert.equal(
      alert?.['msg'],
      'Data-plane worker 0 could not be replaced: worker 0 ended before it was ready: cannot load',
    );
  } finally {
    close();
  }
});

workerTest('fault injection is off unless the engine was started with it', { timeout: 30_000 }, async () => {
  const { init, close } = serverDescriptors();
  try {
    const h = harness({ faultInjection: false });
    h.engine.handle(init);
    await h.until(() => h.sent.some((m) => m.type === 'ready'), 'ready');
    assert.equal(h.engine.injectFault(0), false);
    assert.ok(!h.messages().some((m) => /fault injection/i.test(m)));
    const counters = h.summary().counters;
    assert.equal(counters['worker-failed'], 0);
    h.engine.handle({ type: 'stop' });
    assert.equal(await h.exited, 0);
  } finally {
    close();
  }
});
