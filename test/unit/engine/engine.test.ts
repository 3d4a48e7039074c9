/**
 * The engine's sequence with the real worker pool and data-plane threads but recorded privilege
 * calls (so it runs unprivileged): the jail identified and the threads started BEFORE the drop,
 * checks after it, the workers reading and `ready` only when both passed; summary, stop, and
 * refusal of junk.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import type { CheckOperations, DropOperations } from '../../../src/engine/drop-privileges.js';
import { createEngine } from '../../../src/engine/engine.js';
import type { EngineToBootstrap, InitMessage } from '../../../src/ipc/bootstrap-engine-messages.js';
import { closeFd } from '../../../src/os/fd.js';
import { openUdp4 } from '../../../src/os/udp.js';
import { fileURLToPath } from 'node:url';
import { identifyDirectory } from '../../../src/os/identity.js';
import { unprivilegedTest } from '../../support/unprivileged.js';
import { captureLog, dataplaneProgram, DROPPED_CHECK, RELAY_INIT } from '../../support/fakes.js';

const workerTest = unprivilegedTest(import.meta.url);

// The workers really watch their descriptors, so they must exist: idle loopback sockets stand
// in for the TUN queues and UDP sockets (nothing is ever sent to them).
const fds = Array.from({ length: 4 }, () => openUdp4('127.0.0.1', 0, { reusePort: false }));
after(() => fds.forEach((fd) => closeFd(fd)));
const [tunA = -1, tunB = -1, udpA = -1, udpB = -1] = fds;
const keptFds = [...fds].sort((a, b) => a - b).join(',');

const init: InitMessage = {
  ...RELAY_INIT,
  fds: { tun: [tunA, tunB], udp: [udpA, udpB], raw: null },
  logLevel: 'debug',
};

function harness(checkOverride: Partial<CheckOperations> = {}, jailDir = '/') {
  const calls: string[] = [];
  const sent: EngineToBootstrap[] = [];
  const captured = captureLog();
  let exit: (code: number) => void = () => undefined;
  const exited = new Promise<number>((resolve) => {
    exit = resolve;
  });
  const drop: DropOperations = {
    identify: (dir) => {
      calls.push(`identify ${dir}`);
      // Nothing is chrooted here: the workers' root directory stays /, so that is the jail.
      return identifyDirectory(jailDir);
    },
    chroot: (dir) => calls.push(`chroot ${dir}`),
    chdir: (dir) => calls.push(`chdir ${dir}`),
    setGroupsEmpty: () => calls.push('setgroups'),
    setgid: (gid) => calls.push(`setgid ${gid}`),
    setuid: (uid) => calls.push(`setuid ${uid}`),
    setNoNewPrivs: () => calls.push('no_new_privs'),
    privilegedThreads: () => [],
    requestJail: (fd) => calls.push(`jailer ${fd}`),
  };
  const check: CheckOperations = { ...DROPPED_CHECK, ...checkOverride };
  const engine = createEngine({
    log: captured.log,
    program: dataplaneProgram(),
    send: (message) => {
      calls.push(`send ${message.type}`);
      sent.push(message);
    },
    exit: (code) => exit(code),
    drop,
    check,
    closeInherited: (keep) => {
      calls.push(`closeInherited ${[...keep].sort((a, b) => a - b).join(',')}`);
      return [];
    },
  });
  return { engine, calls, sent, records: captured.records, exited };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

workerTest(
  'workers first, then the drop in order, then the checks, then reading and ready; stop exits 0',
  {},
  async () => {
    const { engine, calls, sent, records, exited } = harness();
    engine.handle(init);
    await until(() => sent.some((m) => m.type === 'ready'), 'ready');
    assert.deepEqual(calls, [
      `closeInherited 3,${keptFds}`,
      'no_new_privs',
      'identify /run/miredo-ts/empty',
      'chroot /run/miredo-ts/empty',
      'chdir /',
      'setgroups',
      'setgid 65534',
      'setuid 65534',
      'no_new_privs',
      'send ready',
    ]);
    assert.deepEqual(sent[0], { type: 'ready', pid: process.pid, workers: 2 });
    // Each worker reads only after the drop, having checked its own ids and root directory.
    const reading = (): Array<Record<string, unknown>> =>
      records.filter((r) =>
        /^Data-plane worker \d reads as uid \d+ gid \d+, in the jail$/.test(String(r['msg'])),
      );
    await until(() => reading().length === 2, 'both workers reading');
    const dropped = records.findIndex((r) => r['msg'] === 'Privileges dropped');
    assert.ok(dropped >= 0 && reading().every((r) => records.indexOf(r) > dropped));
    assert.deepEqual(
      reading().map((r) => [r['uid'], r['gid']]),
      [
        [process.getuid?.(), process.getgid?.()],
        [process.getuid?.(), process.getgid?.()],
      ],
    );

    engine.handle({ type: 'summary', id: 5 });
    const report = sent.find((m) => m.type === 'summary-report');
    assert.ok(report && report.type === 'summary-report');
    assert.equal(report.id, 5);
    assert.equal(report.summary.workers, 2);
    assert.equal(report.summary.role, 'relay');

    engine.handle(init);
    assert.ok(records.some((r) => r['msg'] === 'Ignoring a second init message'));
    engine.handle({ type: 'exec', command: '/bin/sh' });
    assert.ok(records.some((r) => /^Invalid message from the bootstrap/.test(String(r['msg']))));

    engine.handle({ type: 'stop' });
    assert.equal(await exited, 0);
    assert.ok(records.some((r) => r['msg'] === 'Terminated with no error.'));
  },
);

workerTest('a failed check is an alert and exit 1, never ready', {}, async () => {
  const { engine, sent, records, exited } = harness({ openTunDevice: () => true });
  engine.handle(init);
  assert.equal(await exited, 1);
  assert.ok(!sent.some((m) => m.type === 'ready'));
  const alert = records.find((r) => r['level'] === 70);
  assert.match(
    String(alert?.['msg']),
    /^Miredo setup failure: privileges not dropped: \/dev\/net\/tun can still be opened/,
  );
});

workerTest('losing the bootstrap stops the engine with status 1', {}, async () => {
  const { engine, sent, exited } = harness();
  engine.handle(init);
  await until(() => sent.some((m) => m.type === 'ready'), 'ready');
  engine.disconnected();
  assert.equal(await exited, 1);
});

test('a worker whose root directory is not the jail refuses to read, and the engine ends', async () => {
  // As if the chroot had silently gone elsewhere: the jail is identified as another directory.
  const { engine, records, exited } = harness({}, fileURLToPath(new URL('.', import.meta.url)));
  // A server engine: its control plane has no timers, so the ended engine leaves nothing running.
  engine.handle({
    ...init,
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
    poolSize: 1,
    fds: { tun: [], udp: [udpA, udpB], raw: tunA },
  });
  assert.equal(await exited, 1);
  const alert = records.find((r) => r['level'] === 70);
  assert.match(
    String(alert?.['msg']),
    /^Data-plane worker \d refused to read: .*root directory \d+:\d+ is not the jail/,
  );
  assert.ok(!records.some((r) => /reads as uid/.test(String(r['msg']))));
});

workerTest(
  'health reports (and worker heartbeats) run only when init asks for them: a relay with an AnnounceTable',
  {},
  async () => {
    const reporting = harness();
    const quiet = harness();
    reporting.engine.handle({ ...init, healthReports: true });
    quiet.engine.handle(init);
    await until(() => reporting.sent.some((m) => m.type === 'ready'), 'ready (reporting)');
    await until(() => quiet.sent.some((m) => m.type === 'ready'), 'ready (quiet)');
    // The reporting engine's second report is the clock: by then the quiet one would have sent one.
    await until(() => reporting.sent.filter((m) => m.type === 'health').length >= 2, 'two health reports');
    const report = reporting.sent.find((m) => m.type === 'health');
    assert.deepEqual(report, { type: 'health', stalled: [] });
    assert.equal(quiet.sent.filter((m) => m.type === 'health').length, 0);
    reporting.engine.handle({ type: 'stop' });
    quiet.engine.handle({ type: 'stop' });
    assert.deepEqual(await Promise.all([reporting.exited, quiet.exited]), [0, 0]);
  },
);
