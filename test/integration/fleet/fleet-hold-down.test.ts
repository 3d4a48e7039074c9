/**
 * The hold-down and maintenance in the fleet lab, as the router sees them (its kernel routes,
 * learnt by its BIRD from our relays' BIRDs): relay2's engine, stopped and resumed twice in a
 * row (SIGSTOP/SIGCONT), is withdrawn each time and comes back only after 2 s, then 4 s, of
 * health; `miredo-ctl withdraw` takes relay1 out while it keeps running, a crash of its engine
 * and a SIGHUP keep it out, and `miredo-ctl announce` brings it back. About 20 s.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { netnsSkip } from '../../support/netns.js';
import { createLab } from '../../../scripts/lab/index.js';
import type { Lab, LabDaemon } from '../../../scripts/lab/index.js';
import type { ControlStatus } from '../../../src/ipc/control-protocol.js';
import { LabStory } from '../lab/lab-test-tools.js';
import { ANNOUNCE_TABLE, startFleetRelay } from './fleet-flow.js';
import { enginePid } from './relay-engine.js';

const execFileAsync = promisify(execFile);
const CTL_BIN = fileURLToPath(new URL('../../../../bin/miredo-ctl', import.meta.url));
/** Health timeout, the announcer's tick, BGP and a loaded machine. */
const WITHDRAW_BOUND_MS = 4000;
/** On top of the hold-down: the engine's first reports after SIGCONT, the tick, BGP. */
const RETURN_SLACK_MS = 4000;

async function ctl(relay: LabDaemon, ...args: string[]): Promise<string> {
  const pidFile = relay.configPath.replace(/\.conf$/, '.pid');
  const { stdout } = await execFileAsync(process.execPath, [CTL_BIN, '-p', pidFile, ...args]);
  return stdout;
}

async function announcement(relay: LabDaemon): Promise<ControlStatus['announcement']> {
  return (JSON.parse(await ctl(relay, '--json', 'status')) as ControlStatus).announcement;
}

describe('hold-down and maintenance of a relay fleet', { skip: netnsSkip() }, () => {
  it('holds a flapping engine down longer each time; withdraw and announce by hand', async (t) => {
    const story = new LabStory();
    let lab: Lab | undefined;
    try {
      lab = await createLab({
        anycast: { relays: 2, learnTable: ANNOUNCE_TABLE },
        onProgress: story.listener,
      });
      const active = lab;
      await story.explain(active, async () => {
        const relays = new Map<string, LabDaemon>();
        for (const node of active.relays) relays.set(node, await startFleetRelay(active, node, []));
        await active.fleet.waitRouterNexthops(['relay1', 'relay2'], 10_000);
        const relay1 = relays.get('relay1');
        const relay2 = relays.get('relay2');
        assert.ok(relay1 && relay2);
        const engine = enginePid(relay2);

        for (const holdDownS of [2, 4]) {
          process.kill(engine, 'SIGSTOP');
          const downMs = await active.fleet.waitRouterNexthops(['relay1'], WITHDRAW_BOUND_MS);
          process.kill(engine, 'SIGCONT');
          const resumed = Date.now();
          await relay2.waitForOutput(new RegExp(`no health report[^"]*; hold-down ${holdDownS} s`), 2000);
          await active.fleet.waitRouterNexthops(['relay1', 'relay2'], holdDownS * 1000 + RETURN_SLACK_MS);
          const backMs = Date.now() - resumed;
          t.diagnostic(
            `stop ${holdDownS / 2}: withdrawn after ${downMs} ms, back ${backMs} ms after SIGCONT`,
          );
          assert.ok(
            backMs >= holdDownS * 1000,
            `back after ${backMs} ms, before its ${holdDownS} s hold-down`,
          );
        }
        await relay2.waitForOutput(/Holding 2001::\/32 down: announced after 4 s of health/, 1000);
        assert.equal((await announcement(relay2))?.holdDownSeconds, 4);

        const withdrawn = await ctl(relay1, 'withdraw');
        assert.match(withdrawn, /^Maintenance: withdrawn \(table 3544\): maintenance$/m);
        const outMs = await active.fleet.waitRouterNexthops(['relay2'], WITHDRAW_BOUND_MS);
        t.diagnostic(`miredo-ctl withdraw: relay1 gone from the router after ${outMs} ms`);
        assert.match(
          await ctl(relay1, 'status'),
          /^Announced: +no, withdrawn .*maintenance until miredo-ctl announce/m,
        );
        // A new engine (its predecessor killed) learns the maintenance from the bootstrap.
        const killed = enginePid(relay1);
        process.kill(killed, 'SIGKILL');
        await relay1.waitForOutput(/Engine \d+ ready/, 5000, relay1.output.length);
        assert.notEqual(enginePid(relay1), killed);
        // Told with the answer to its first health report (250 ms).
        let told = await announcement(relay1);
        for (let tries = 0; told === undefined && tries < 20; tries += 1) {
          await sleep(100);
          told = await announcement(relay1);
        }
        assert.equal(told?.maintenance, true, 'the new engine knows');
        process.kill(relay1.pid, 'SIGHUP');
        await relay1.waitForOutput(/Configuration unchanged/, 3000);
        await sleep(1500);
        assert.deepEqual(await active.fleet.routerNexthops(), ['relay2'], 'still out after SIGHUP');
        assert.equal((await announcement(relay1))?.maintenance, true);

        assert.match(await ctl(relay1, 'announce'), /^Maintenance over: announced \(table 3544\)/m);
        const inMs = await active.fleet.waitRouterNexthops(['relay1', 'relay2'], WITHDRAW_BOUND_MS);
        t.diagnostic(`miredo-ctl announce: relay1 back at the router after ${inMs} ms`);
        assert.equal(relay1.status, null, 'relay1 ran all along');
      });
    } finally {
      await lab?.destroy();
    }
  });
});
