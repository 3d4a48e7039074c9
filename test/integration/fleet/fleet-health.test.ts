/**
 * Health-driven announcement in the fleet lab: two of our relays with AnnounceTable 3544, their
 * BIRDs learning that table. A wedged engine (SIGSTOP) and a wedged data-plane worker (fault
 * injection: its thread blocks for good) each lead to the withdrawal of that relay's nexthop at
 * the router, the engine's within its 1 s health timeout, the worker's within its 1.5 s stall
 * time (plus the report and BGP); the engine's comes back when it has run again for the 2 s
 * hold-down. About 15 s.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { netnsSkip } from '../../support/netns.js';
import { createLab } from '../../../scripts/lab/index.js';
import type { Lab, LabDaemon } from '../../../scripts/lab/index.js';
import { FAULT_INJECTION_ENV } from '../../../src/ipc/engine-launch.js';
import { LabStory } from '../lab/lab-test-tools.js';
import { ANNOUNCE_TABLE, startFleetRelay } from './fleet-flow.js';
import { enginePid } from './relay-engine.js';

/** Health timeout or stall time, the announcer's tick, BGP and a loaded machine. */
const WITHDRAW_BOUND_MS = 4000;

describe('a relay is announced only while its data plane works', { skip: netnsSkip() }, () => {
  it('withdraws a wedged engine and a wedged worker', async (t) => {
    const story = new LabStory();
    const previous = process.env[FAULT_INJECTION_ENV];
    let lab: Lab | undefined;
    try {
      process.env[FAULT_INJECTION_ENV] = 'wedge';
      lab = await createLab({
        anycast: { relays: 2, learnTable: ANNOUNCE_TABLE },
        onProgress: story.listener,
      });
      const active = lab;
      await story.explain(active, async () => {
        const relays = new Map<string, LabDaemon>();
        for (const node of active.relays) relays.set(node, await startFleetRelay(active, node, []));
        await active.fleet.waitRouterNexthops(['relay1', 'relay2'], 10_000);
        const relay2 = relays.get('relay2');
        assert.ok(relay2);
        const engine = enginePid(relay2);

        process.kill(engine, 'SIGSTOP');
        const stoppedMs = await active.fleet.waitRouterNexthops(['relay1'], WITHDRAW_BOUND_MS);
        t.diagnostic(`engine stopped: relay2 withdrawn at the router after ${stoppedMs} ms`);
        process.kill(engine, 'SIGCONT');
        // Back once healthy for the 2 s hold-down of a first withdrawal (fleet-hold-down.test.ts).
        const backMs = await active.fleet.waitRouterNexthops(['relay1', 'relay2'], WITHDRAW_BOUND_MS + 2000);
        t.diagnostic(`engine running again: relay2 back after ${backMs} ms`);

        process.kill(engine, 'SIGUSR2');
        const wedgedMs = await active.fleet.waitRouterNexthops(['relay1'], WITHDRAW_BOUND_MS);
        t.diagnostic(`worker 0 wedged: relay2 withdrawn after ${wedgedMs} ms`);
        await relay2.waitForOutput(
          /Withdrew 2001::\/32 \(table 3544\): data-plane worker\(s\) 0 stalled/,
          1000,
        );
        assert.ok(await relay2.waitForOutput(/Withdrew 2001::\/32 \(table 3544\): no health report/, 1000));
        assert.equal(relay2.status, null, 'the relay itself still runs');
      });
    } finally {
      if (previous === undefined) delete process.env[FAULT_INJECTION_ENV];
      else process.env[FAULT_INJECTION_ENV] = previous;
      await lab?.destroy();
    }
  });
});
