/**
 * A data-plane worker that crashes (test-only fault injection: it throws from its packet
 * loop's readiness callback) is replaced in place by the real engine and pool: same engine,
 * same descriptors (the replacement reads the crashed worker's socket), counted in the summary;
 * and every way replacement must NOT happen ends the engine with an alert instead: no program
 * copy in the jail, a crash loop, a replacement that cannot load its code.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { EngineEnvironment } from '../../../src/daemon/engine.js';
import { FAULT_INJECTION_ENV } from '../../../src/daemon/ipc.js';
import type { EngineSummary, InitMessage } from '../../../src/daemon/ipc.js';
import { closeFd } from '../../../src/os/fd.js';
import { localPort, openUdp4 } from '../../../src/os/udp.js';
import { createTestEngine, RELAY_INIT } from './fakes.js';

const DATAPLANE = fileURLToPath(new URL('../../../src/daemon/dataplane.js', import.meta.url));

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
  const { engine, sent, records, exited } = createTestEngine(DATAPLANE, {
    faultInjection: true,
    canReplaceWorkers: () => true,
    ...overrides,
  });
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

test(
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

test(
  'a crashed worker is replaced only once the bootstrap has said the jail copy is current',
  { timeout: 60_000 },
  async () => {
    // A server engine: its control plane has no timers, so the failed engine leaves nothing running.
    const { init, close } = serverDescriptors();
    try {
      // The real check, not the tests' "always": what the bootstrap says, and the files visible.
      const h = harness({ canReplaceWorkers: undefined });
      h.engine.handle(init);
      await h.until(() => h.sent.some((m) => m.type === 'ready'), 'ready');
      h.engine.handle({ type: 'program-copy', current: true });
      assert.equal(h.engine.injectFault(0), true);
      await h.until(() => h.messages().some((m) => /^Data-plane worker 0 replaced in/.test(m)), 'replaced');

      // A stale copy the bootstrap could not replace: the next crash ends the engine instead.
      h.engine.handle({ type: 'program-copy', current: false });
      assert.equal(h.engine.injectFault(0), true);
      assert.equal(await h.exited, 1);
      const alert = h.records.find((r) => r['level'] === 70);
      assert.match(
        String(alert?.['msg']),
        /^Data-plane worker 0 failed: .*\(no copy of the program in the jail to replace it\)$/,
      );
    } finally {
      close();
    }
  },
);

test('without the program in the jail a crash ends the engine, as before', { timeout: 30_000 }, async () => {
  const { init, close } = serverDescriptors();
  try {
    const h = harness({ canReplaceWorkers: () => false });
    h.engine.handle(init);
    await h.until(() => h.sent.some((m) => m.type === 'ready'), 'ready');
    h.engine.injectFault(0);
    assert.equal(await h.exited, 1);
    const alert = h.records.find((r) => r['level'] === 70);
    assert.match(
      String(alert?.['msg']),
      /^Data-plane worker 0 failed: fault injection: .* \(no copy of the program in the jail to replace it\)$/,
    );
  } finally {
    close();
  }
});

test('a crash loop gives up instead of replacing forever', { timeout: 30_000 }, async () => {
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

test('a replacement that cannot load its code ends the engine', { timeout: 30_000 }, async () => {
  const { init, close } = serverDescriptors();
  // The task module exists for the first workers and is gone when the replacement loads it,
  // as in a jail without the program copy.
  const dir = mkdtempSync(join(tmpdir(), 'engine-replacement-'));
  const entry = join(dir, 'dataplane.mjs');
  writeFileSync(entry, `export { default } from ${JSON.stringify(pathToFileURL(DATAPLANE).href)};\n`);
  try {
    const h = harness({ dataplanePath: entry });
    h.engine.handle(init);
    await h.until(() => h.sent.some((m) => m.type === 'ready'), 'ready');
    rmSync(dir, { recursive: true, force: true });
    h.engine.injectFault(0);
    assert.equal(await h.exited, 1);
    const alert = h.records.find((r) => r['level'] === 70);
    assert.match(String(alert?.['msg']), /^Data-plane pool failure: .*dataplane\.mjs/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    close();
  }
});

test('fault injection is off unless the engine was started with it', { timeout: 30_000 }, async () => {
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
