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
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLIENT_HOOK_ENV } from '../../../src/bootstrap/client-hook.js';
import { netnsSkip } from '../../support/netns.js';
import type { Netns } from '../../support/netns.js';
import { FLOOD_REQUESTS, HUGE_FRAME_BYTES } from './attack-engine.js';
import {
  IFNAME,
  isViolation,
  memory,
  nextReady,
  openDescriptors,
  startHarness,
  stopDaemon,
  tearDown,
} from './attack-setup.js';
import type { Setup } from './attack-setup.js';
import { addresses6, linkState, pollUntil, processGone, routes6 } from './daemon-tools.js';
import type { LogLine } from './daemon-tools.js';

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
