/**
 * Issue 11, findings 2 and 4, against the real root bootstrap (attack-harness.ts: the daemon's
 * own runBootstrap, supervisor, channel and helper, with a real TUN interface in a throw-away
 * namespace) and hostile engines (attack-engine.ts):
 *   - descriptors sent with SCM_RIGHTS never reach the bootstrap, whose descriptor count stays flat;
 *   - a 600 MiB frame and a frame of broken JSON are protocol violations: the engine is killed and
 *     restarted, the bootstrap's memory stays small and it keeps running, then stops cleanly;
 *   - requests still queued when an engine dies are never applied: afterwards the interface is
 *     exactly as the bootstrap had it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLIENT_HOOK_ENV } from '../../../src/daemon/client-hook.js';
import { createNetns, netnsSkip } from '../../support/netns.js';
import type { Netns } from '../../support/netns.js';
import { FLOOD_REQUESTS, HUGE_FRAME_BYTES } from './attack-engine.js';
import type { AttackStep } from './attack-engine.js';
import { ATTACK_STATE_ENV } from './attack-harness.js';
import { addresses6, DaemonRun, linkState, pollUntil, processGone, routes6 } from './daemon-tools.js';
import type { LogLine } from './daemon-tools.js';

const HARNESS = fileURLToPath(new URL('./attack-harness.js', import.meta.url));
const IFNAME = 'mtsa0';

function openDescriptors(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** VmRSS and VmHWM (the peak) of `pid`, in bytes. */
function memory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string): number =>
    Number(new RegExp(`^${field}:\\s*(\\d+) kB`, 'm').exec(status)?.[1]) * 1024;
  return { rss: kib('VmRSS'), peak: kib('VmHWM') };
}

interface Setup {
  readonly ns: Netns & { delete(): Promise<void> };
  readonly dir: string;
  readonly pidFile: string;
  readonly daemon: DaemonRun;
}

async function startHarness(plan: readonly AttackStep[], env: Record<string, string> = {}): Promise<Setup> {
  const dir = mkdtempSync(join(tmpdir(), 'mts-attack-'));
  const jail = join(dir, 'jail');
  mkdirSync(jail);
  chmodSync(jail, 0o755);
  writeFileSync(join(dir, 'plan.json'), JSON.stringify(plan));
  const conf = join(dir, 'client.conf');
  writeFileSync(conf, `InterfaceName ${IFNAME}\nServerAddress 198.51.100.1\nBindAddress 127.0.0.1\n`);
  const pidFile = join(dir, 'miredo.pid');
  const ns = await createNetns();
  const variables = Object.entries({ [ATTACK_STATE_ENV]: dir, ...env }).map(([k, v]) => `${k}=${v}`);
  const child = ns.spawn(
    'env',
    [...variables, process.execPath, HARNESS, '-f', '-c', conf, '-p', pidFile, '-u', 'nobody', '-t', jail],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  return { ns, dir, pidFile, daemon: new DaemonRun(child) };
}

async function tearDown(setup: Setup | undefined): Promise<void> {
  if (setup === undefined) return;
  if (!processGone(setup.daemon.pid)) setup.daemon.child.kill('SIGKILL');
  await setup.ns.delete();
  rmSync(setup.dir, { recursive: true, force: true });
}

const isReady = (l: LogLine): boolean => /^Engine \d+ ready$/.test(String(l['msg']));
const isViolation = (l: LogLine): boolean => /^Protocol violation by engine \d+: /.test(String(l['msg']));

/** The pid of the next engine to become ready after `previous` (0: the first). */
async function nextReady(daemon: DaemonRun, previous: number): Promise<number> {
  const from = previous === 0 ? 0 : daemon.lines.findIndex((l) => isReady(l) && l['child'] === previous) + 1;
  const line = await daemon.waitForLog((l) => isReady(l) && l['child'] !== previous, 30_000, from);
  return Number(line['child']);
}

async function stopDaemon(setup: Setup): Promise<{ code: number | null }> {
  setup.daemon.child.kill('SIGTERM');
  return setup.daemon.exited;
}

describe(
  'a hostile engine cannot crash, fill or hand descriptors to the root bootstrap',
  { skip: netnsSkip() },
  () => {
    let setup: Setup | undefined;
    const figures = { fdsBefore: 0, fdsAfterFlood: 0, fdsAtEnd: 0, rssBefore: 0, peakAtEnd: 0, rssAtEnd: 0 };
    let floodResult: unknown = null;
    let violations: LogLine[] = [];
    let finalEngine = 0;
    let exit: { code: number | null } = { code: null };

    before(async () => {
      setup = await startHarness(['quiet', 'fd-flood', 'huge', 'garbage', 'quiet']);
      const { daemon } = setup;
      const bootstrap = daemon.pid;
      const first = await nextReady(daemon, 0);
      figures.fdsBefore = openDescriptors(bootstrap);
      figures.rssBefore = memory(bootstrap).rss;
      process.kill(first, 'SIGKILL');

      const flooder = await nextReady(daemon, first);
      const sent = await daemon.waitForLog((l) => l['msg'] === 'attack: fds sent', 30_000);
      floodResult = sent['result'];
      figures.fdsAfterFlood = openDescriptors(bootstrap);
      process.kill(flooder, 'SIGKILL');

      finalEngine = await nextReady(daemon, flooder);
      violations = daemon.lines.filter(isViolation);
      figures.fdsAtEnd = openDescriptors(bootstrap);
      const end = memory(bootstrap);
      figures.peakAtEnd = end.peak;
      figures.rssAtEnd = end.rss;
      exit = await stopDaemon(setup);
      process.stdout.write(`figures: ${JSON.stringify(figures)}\n`);
    });

    after(() => tearDown(setup));

    it('never receives the 8,000 descriptors sent with SCM_RIGHTS: its descriptor count stays flat', () => {
      assert.deepEqual(floodResult, {
        ok: false,
        kind: 'refused',
        reason: 'MTU 1000 is outside 1280..65535',
      });
      assert.equal(figures.fdsAfterFlood, figures.fdsBefore, JSON.stringify(figures));
      assert.equal(figures.fdsAtEnd, figures.fdsBefore, JSON.stringify(figures));
    });

    it('kills the engine for a 600 MiB frame and for broken JSON, logged at critical level', () => {
      assert.equal(violations.length, 2, violations.map((l) => l['msg']).join('\n'));
      const [huge, garbage] = violations;
      assert.equal(huge?.['level'], 60);
      assert.equal(huge?.['reason'], `frame of ${HUGE_FRAME_BYTES} bytes (at most 262144)`);
      assert.equal(garbage?.['reason'], 'frame is not JSON');
      assert.ok(setup);
      for (const violation of violations) {
        const killed = setup.daemon.lines.find(
          (l) => l['child'] === violation['child'] && /^Child \d+ killed by signal 9 /.test(String(l['msg'])),
        );
        assert.ok(killed, `engine ${String(violation['child'])} killed by SIGKILL`);
      }
    });

    it('keeps its memory small while the engine sends 600 MiB', () => {
      assert.ok(figures.peakAtEnd < figures.rssBefore + 64 * 1024 * 1024, JSON.stringify(figures));
    });

    it('restarts the engine each time and keeps running, then stops cleanly', async () => {
      assert.ok(setup);
      assert.ok(finalEngine > 0);
      assert.equal(
        setup.daemon.lines.filter((l) =>
          /^Engine \d+ failed to start: killed by SIGKILL$/.test(String(l['msg'])),
        ).length,
        2,
      );
      assert.equal(exit.code, 0);
      assert.equal(existsSync(setup.pidFile), false, 'PID file removed');
      assert.equal(await linkState(setup.ns, IFNAME), null, 'interface removed');
      await pollUntil(() => (processGone(finalEngine) ? true : undefined), 2000, 'engine gone');
    });
  },
);

describe('requests queued when an engine dies are never applied', { skip: netnsSkip() }, () => {
  let setup: Setup | undefined;
  let baseline: unknown = null;
  let afterDeath: unknown = null;
  let exit: { code: number | null } = { code: null };

  const snapshot = async (ns: Netns): Promise<unknown> => ({
    link: await linkState(ns, IFNAME),
    addresses: await addresses6(ns, IFNAME),
    routes: await routes6(ns, IFNAME),
  });

  before(async () => {
    // A slow client hook keeps the first request (client-state up) in progress while the
    // engine's other requests wait behind it and the engine exits.
    const hookDir = mkdtempSync(join(tmpdir(), 'mts-hook-'));
    const hook = join(hookDir, 'client-hook');
    writeFileSync(hook, '#!/bin/sh\nsleep 0.5\n');
    chmodSync(hook, 0o755);
    try {
      setup = await startHarness(['flood-die', 'quiet'], { [CLIENT_HOOK_ENV]: hook });
      const { daemon, ns } = setup;
      const flooder = await nextReady(daemon, 0);
      baseline = await snapshot(ns);
      process.kill(flooder, 'SIGUSR2');
      await nextReady(daemon, flooder);
      afterDeath = await snapshot(ns);
      exit = await stopDaemon(setup);
    } finally {
      rmSync(hookDir, { recursive: true, force: true });
    }
  });

  after(() => tearDown(setup));

  it('leaves the interface exactly as the bootstrap set it', () => {
    assert.deepEqual(afterDeath, baseline);
  });

  it("drops the dead engine's queued requests and applies none of them", () => {
    assert.ok(setup);
    const dropped = setup.daemon.lines.find((l) =>
      /^Dropped \d+ request\(s\) of engine \d+: it is gone$/.test(String(l['msg'])),
    );
    assert.ok(dropped, 'logged');
    assert.match(String(dropped['msg']), new RegExp(`^Dropped ${FLOOD_REQUESTS} request`));
    assert.equal(setup.daemon.lines.filter((l) => /^Applied add-address/.test(String(l['msg']))).length, 0);
    assert.equal(exit.code, 0);
  });
});
