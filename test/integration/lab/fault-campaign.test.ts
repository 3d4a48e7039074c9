/**
 * The fault campaign of issue 15, in one lab (82-108 s here): each fault hits a pair of clients,
 * ours and Debian's Miredo 1.2.6 side by side, and the pairs take their faults at the same time.
 * Every client pings the IPv6 host every 200 ms all along (steady-ping.ts); a fault's figures are
 * the requests lost and the time until replies came back for good.
 *
 *   server   198.51.100.1/.2 (ours), and a second server of ours on 198.51.100.5/.6
 *   home     cone NAT: home-ours, home-miredo (second server): conntrack -F, then their LAN
 *            links down 10 s
 *   noisy    cone NAT: 10 % and 30 % random loss each way (from before the clients start, so
 *            during qualification and traffic), 20 % duplicates, reordering each way (htb and
 *            iptables, from before the start to the end), one pair each (second server)
 *   far      cone NAT: down-* (first server, which is stopped for 60 s) and moved-* (the name
 *            teredo.lab.test, which moves to the second server when the first stops)
 *   relay    ours, killed with SIGKILL 50 s into the server's absence and started again (on
 *            another port, as without BindPort), every pair but down-* watching.
 *
 * Timeline from t0 (all qualified, pinging for 2 s): 0 s the first server stops, the name moves,
 * home's conntrack is flushed; 15-25 s home's links down; 40 s the loss lifted; 50 s the relay
 * killed; 60 s the first server back; then until ours has recovered everywhere (35 s at most).
 * Reordering must show: each client of its pair gets replies out of order, or the test fails.
 *
 * Acceptance: ours recovers from every fault, never more than 1 s after Miredo where Miredo
 * recovers within the test, and never exits.
 */
import { after, before, describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { netnsSkip } from '../../support/netns.js';
import { createLab, IPV6HOST_IPV6 } from '../../../scripts/lab/index.js';
import type { Lab, LabDaemon, TeredoClient } from '../../../scripts/lab/index.js';
import { LabStory } from './lab-test-tools.js';
import { describeOutage, SteadyPing } from './steady-ping.js';
import type { Outage } from './steady-ping.js';
import type { SlowLanes } from './fault-tools.js';
import {
  duplicates,
  flushConntrack,
  namespaceResolver,
  randomLoss,
  reorder,
  uplinkDown,
} from './fault-tools.js';

const OURS = ['DataplaneWorkers 1'];
const SERVER_NAME = 'teredo.lab.test';
const SECOND_SERVER = ['198.51.100.5', '198.51.100.6'] as const;
const PAIRS = ['home', 'l10', 'l30', 'dup', 'reo', 'down', 'moved'] as const;
type Pair = (typeof PAIRS)[number];
const NOISY: readonly Pair[] = ['l10', 'l30', 'dup', 'reo'];
/** Packets 0 and 1 of every 10 each client sends or receives go through a slow lane at the NAT. */
const REORDER_EVERY = 10;
const SERVER_DOWN_MS = 60_000;
const UPLINK_DOWN_AT_MS = 15_000;
const UPLINK_DOWN_MS = 10_000;
const LOSS_LIFTED_AT_MS = 40_000;
const RELAY_KILLED_AT_MS = 50_000;
/** The pairs whose relay outage is judged (down's clients have other worries then). */
const RELAY_WATCHERS = ['home', 'l10', 'l30', 'dup', 'reo', 'moved'] as const;
/** Qualification under 30 % loss each way may take a lost round or two. */
const QUALIFY_WINDOW_MS = 45_000;
/** After the server's return: one refresh interval (20 s) and the ping; the relay's clients wait for their stale entries (30 s after the kill). */
const AFTER_SERVER_MS = 35_000;
/** A request this recent may still be answered: left out of the counts. */
const IN_FLIGHT_MS = 1000;

interface Client {
  readonly pair: Pair;
  readonly impl: 'ours' | 'miredo';
  readonly node: string;
  readonly daemon: TeredoClient;
  qualifiedMs: number | null;
  ping?: SteadyPing;
}

function serverOf(pair: Pair): string {
  if (pair === 'moved') return SERVER_NAME;
  return pair === 'down' ? '198.51.100.1' : SECOND_SERVER[0];
}

/** Polls `done` every 200 ms until it holds or `timeoutMs` passes. */
async function until(done: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done() && Date.now() < deadline) await sleep(200);
}

/**
 * How long qualification took from the daemon's start, and for ours also from its first RS
 * (Node.js and the engine's start take seconds on a loaded machine; Miredo starts in milliseconds).
 */
function qualification(client: Client): string {
  if (client.qualifiedMs === null) return `${client.node}: not qualified within ${QUALIFY_WINDOW_MS} ms`;
  const output = client.daemon.daemon.output;
  const firstRs = output.find((line) => line.text.includes('Qualifying with Teredo server'));
  const fromRs = firstRs === undefined ? '' : `, ${client.qualifiedMs - firstRs.atMs} ms from its first RS`;
  return `${client.node}: qualified ${client.qualifiedMs} ms after its start${fromRs}`;
}

/** What one fault did to a pair: each client's outage, measured from `sinceMs`. */
interface Verdict {
  readonly fault: string;
  readonly pair: Pair;
  readonly sinceMs: number;
  readonly ours: Outage;
  readonly miredo: Outage;
  /** Random faults: ours must keep answering, but when its last loss was is chance. */
  readonly random?: boolean;
}

function judge(t: TestContext, verdict: Verdict): void {
  const { fault, sinceMs, ours, miredo } = verdict;
  const random = verdict.random === true;
  t.diagnostic(
    `${fault}: ours ${describeOutage(ours, sinceMs, random)}; Miredo ${describeOutage(miredo, sinceMs, random)}`,
  );
  assert.ok(ours.recoveredAtMs !== null, `${fault}: ours never answered again`);
  if (miredo.recoveredAtMs !== null && !random) {
    assert.ok(
      ours.recoveredAtMs <= miredo.recoveredAtMs + 1000,
      `${fault}: ours answered again ${Math.round(ours.recoveredAtMs - miredo.recoveredAtMs)} ms after Miredo`,
    );
  }
}

describe(
  'the fault campaign: ours beside Miredo 1.2.6, each fault on its own pair',
  { skip: netnsSkip() },
  () => {
    const story = new LabStory();
    let lab: Lab | undefined;
    const clients = new Map<string, Client>();

    before(async () => {
      lab = await createLab({
        nats: [
          { name: 'home', kind: 'cone', clients: ['home-ours', 'home-miredo'] },
          {
            name: 'noisy',
            kind: 'cone',
            clients: NOISY.flatMap((pair) => [`${pair}-ours`, `${pair}-miredo`]),
          },
          { name: 'far', kind: 'cone', clients: ['down-ours', 'down-miredo', 'moved-ours', 'moved-miredo'] },
        ],
        onProgress: story.listener,
      });
    });
    after(async () => {
      await Promise.all([...clients.values()].map((client) => client.ping?.stop()));
      await lab?.destroy();
    });

    /** The pair's outages in [fromMs, toMs]. */
    const outages = (pair: Pair, fromMs: number, toMs: number): { ours: Outage; miredo: Outage } => {
      const of = (impl: string): Outage => {
        const ping = clients.get(`${pair}-${impl}`)?.ping;
        assert.ok(ping !== undefined);
        return ping.outage(fromMs, Math.min(toMs, Date.now() - IN_FLIGHT_MS));
      };
      return { ours: of('ours'), miredo: of('miredo') };
    };

    /** Both servers, the relay, the faults that last from the start, the fourteen clients; then every client's steady ping. */
    async function setUp(
      t: TestContext,
      active: Lab,
    ): Promise<{
      server: LabDaemon;
      relay: LabDaemon;
      lifts: (() => Promise<void>)[];
      moveName: () => Promise<void>;
      slowLanes: () => Promise<Map<string, SlowLanes>>;
    }> {
      const serverNode = active.node('server');
      assert.ok(serverNode.role === 'server');
      for (const address of SECOND_SERVER) {
        await active
          .namespace('server')
          .ip(['addr', 'add', `${address}/24`, 'dev', serverNode.interfaceName]);
      }
      const server = await active.startServer('ours');
      await active.startServer('ours', { primaryIPv4: SECOND_SERVER[0], secondaryIPv4: SECOND_SERVER[1] });
      const relay = await active.startRelay('ours', { relayType: 'cone' });
      const resolvers = await Promise.all(
        ['moved-ours', 'moved-miredo'].map((node) =>
          namespaceResolver(t, active.namespace(node).name, `198.51.100.1 ${SERVER_NAME}\n`),
        ),
      );
      const lifts = [];
      for (const [pair, share] of [
        ['l10', 0.1],
        ['l30', 0.3],
      ] as const) {
        for (const impl of ['ours', 'miredo']) lifts.push(await randomLoss(active, `${pair}-${impl}`, share));
      }
      for (const impl of ['ours', 'miredo']) await duplicates(active, `dup-${impl}`, 0.2);
      const slowLanes = await reorder(active, ['reo-ours', 'reo-miredo'], REORDER_EVERY);
      for (const pair of PAIRS) {
        for (const impl of ['ours', 'miredo'] as const) {
          const node = `${pair}-${impl}`;
          const daemon = await active.startClient(node, impl === 'ours' ? 'ours' : 'debian', {
            serverAddress: serverOf(pair),
            ...(impl === 'ours' ? { extraConfig: OURS } : {}),
          });
          clients.set(node, { pair, impl, node, daemon, qualifiedMs: null });
        }
      }
      await Promise.all(
        [...clients.values()].map(async (client) => {
          const qualified = await client.daemon.waitQualified(QUALIFY_WINDOW_MS).catch(() => null);
          client.qualifiedMs = qualified?.elapsedMs ?? null;
          client.ping = new SteadyPing(active, client.node, IPV6HOST_IPV6);
        }),
      );
      const moveName = async (): Promise<void> => {
        await Promise.all(resolvers.map((write) => write(`${SECOND_SERVER[0]} ${SERVER_NAME}\n`)));
      };
      return { server, relay, lifts, moveName, slowLanes };
    }

    /** Whether each client of the moved name has an address of the second server, and since when. */
    async function followed(t: TestContext, movedAtMs: number): Promise<string[]> {
      const failures: string[] = [];
      for (const impl of ['ours', 'miredo'] as const) {
        const client = clients.get(`moved-${impl}`);
        assert.ok(client !== undefined);
        const address = await client.daemon.currentAddress();
        const moved = address !== null && address.server === SECOND_SERVER[0];
        const line = client.daemon.daemon.output.find((one) =>
          /New Teredo address.*198\.51\.100\.5\b|address: 2001:0:c633:6405:/.test(one.text),
        );
        const afterMs = line === undefined ? null : client.daemon.daemon.startedAt + line.atMs - movedAtMs;
        t.diagnostic(
          `the name moved: ${impl} ${moved ? `on the second server ${afterMs ?? '?'} ms after the move` : 'not on the second server'}`,
        );
        if (impl === 'ours' && !moved) failures.push('ours did not follow the name to the second server');
      }
      return failures;
    }

    /** Whether each client of the reordered pair got replies out of order: a fault that did nothing fails. */
    async function reordered(
      t: TestContext,
      lanes: Map<string, SlowLanes>,
      fromMs: number,
      toMs: number,
    ): Promise<string[]> {
      const failures: string[] = [];
      for (const impl of ['ours', 'miredo'] as const) {
        const client = clients.get(`reo-${impl}`);
        assert.ok(client?.ping !== undefined);
        const late = client.ping.overtaken(fromMs, toMs);
        const overtaken = late.length;
        const rtts = late.map((probe) => Math.round((probe.repliedAtMs ?? probe.sentAtMs) - probe.sentAtMs));
        const lane = lanes.get(client.node);
        t.diagnostic(
          `reordering: ${impl}: ${overtaken} replies overtaken by a later one (round trips ${Math.min(...rtts)}-${Math.max(...rtts)} ms); slow lanes: ${lane?.towardsLan} packets towards its LAN, ${lane?.towardsWan} towards the WAN (half of them held back)`,
        );
        // One every 10 s at least (about one every 2 s here): far more than chance reorders.
        const least = Math.floor((toMs - fromMs) / 10_000);
        if (overtaken < least)
          failures.push(`reordering: ${overtaken} replies to ${impl} out of order (< ${least})`);
      }
      return failures;
    }

    // Longer than 80 lines: one timeline; its steps share the clients and the faults' times.
    it('ours recovers from every fault, never more than 1 s after Miredo, and keeps running', async (t) => {
      assert.ok(lab !== undefined);
      const active = lab;
      await story.explain(active, async () => {
        const { server, relay, lifts, moveName, slowLanes } = await setUp(t, active);
        for (const client of clients.values()) t.diagnostic(qualification(client));
        for (const pair of PAIRS) {
          const [ours, miredo] = [clients.get(`${pair}-ours`), clients.get(`${pair}-miredo`)];
          assert.ok(ours !== undefined && miredo !== undefined);
          assert.ok(ours.qualifiedMs !== null, `${ours.node} qualified within ${QUALIFY_WINDOW_MS} ms`);
        }
        const pingsAt = Date.now();
        await sleep(2000);

        // The server and the NAT's mappings go at once; the name moves with the server.
        const t0 = Date.now();
        const at = (ms: number): Promise<void> => sleep(Math.max(0, t0 + ms - Date.now()));
        await Promise.all([server.stop(), moveName(), flushConntrack(active, 'home')]);
        await at(UPLINK_DOWN_AT_MS);
        const uplinkAt = Date.now();
        const ups = await Promise.all(['home-ours', 'home-miredo'].map((node) => uplinkDown(active, node)));
        await at(UPLINK_DOWN_AT_MS + UPLINK_DOWN_MS);
        await Promise.all(ups.map((up) => up()));
        const uplinkBackAt = Date.now();
        await at(LOSS_LIFTED_AT_MS);
        await Promise.all(lifts.map((lift) => lift()));
        const liftedAt = Date.now();
        await at(RELAY_KILLED_AT_MS);
        // The relay is killed outright and started again (on another port, as a relay without
        // BindPort would be): the clients' entries for the IPv6 host point at the old one.
        const killedAt = Date.now();
        process.kill(relay.pid, 'SIGKILL');
        await relay.stop();
        await active.startRelay('ours', { relayType: 'cone' });
        t.diagnostic(`relay restarted ${Date.now() - killedAt} ms after SIGKILL`);
        await at(SERVER_DOWN_MS);
        await active.startServer('ours');
        const serverBackAt = Date.now();
        const watched = ['down', ...RELAY_WATCHERS] as const;
        await until(
          () =>
            watched.every(
              (pair) => outages(pair, serverBackAt - 5000, Date.now()).ours.recoveredAtMs !== null,
            ),
          AFTER_SERVER_MS,
        );
        await sleep(IN_FLIGHT_MS);

        const verdicts: Verdict[] = [
          {
            fault: 'NAT conntrack flush',
            pair: 'home',
            sinceMs: t0,
            ...outages('home', t0, uplinkAt - IN_FLIGHT_MS),
          },
          {
            fault: `client uplink down ${UPLINK_DOWN_MS / 1000} s`,
            pair: 'home',
            sinceMs: uplinkBackAt,
            ...outages('home', uplinkAt, killedAt - IN_FLIGHT_MS),
          },
          {
            fault: `10 % loss each way for ${Math.round((liftedAt - pingsAt) / 1000)} s, then none for ${Math.round((killedAt - liftedAt) / 1000)} s`,
            random: true,
            pair: 'l10',
            sinceMs: liftedAt,
            ...outages('l10', pingsAt, killedAt - IN_FLIGHT_MS),
          },
          {
            fault: `30 % loss each way for ${Math.round((liftedAt - pingsAt) / 1000)} s, then none for ${Math.round((killedAt - liftedAt) / 1000)} s`,
            random: true,
            pair: 'l30',
            sinceMs: liftedAt,
            ...outages('l30', pingsAt, killedAt - IN_FLIGHT_MS),
          },
          {
            fault: '20 % duplicates',
            random: true,
            pair: 'dup',
            sinceMs: pingsAt,
            ...outages('dup', pingsAt, killedAt - IN_FLIGHT_MS),
          },
          {
            fault: `reordering each way (packets 0 and 1 of every ${REORDER_EVERY} through a slow lane)`,
            random: true,
            pair: 'reo',
            sinceMs: pingsAt,
            ...outages('reo', pingsAt, killedAt - IN_FLIGHT_MS),
          },
          {
            fault: 'the name moved to the second server',
            pair: 'moved',
            sinceMs: t0,
            ...outages('moved', t0, killedAt - IN_FLIGHT_MS),
          },
          {
            fault: `server down ${SERVER_DOWN_MS / 1000} s`,
            pair: 'down',
            sinceMs: serverBackAt,
            ...outages('down', t0, Date.now()),
          },
          ...RELAY_WATCHERS.map((pair) => ({
            fault: `relay killed and restarted (${pair})`,
            pair,
            sinceMs: killedAt,
            ...outages(pair, killedAt, Date.now()),
          })),
        ];

        const failures: string[] = [];
        for (const verdict of verdicts) {
          try {
            judge(t, verdict);
          } catch (error) {
            failures.push(error instanceof Error ? error.message : String(error));
          }
        }
        for (const client of clients.values()) {
          if (client.impl === 'ours' && client.daemon.daemon.status !== null)
            failures.push(`${client.node} exited`);
        }
        failures.push(...(await followed(t, t0)));
        failures.push(...(await reordered(t, await slowLanes(), pingsAt, killedAt - IN_FLIGHT_MS)));
        assert.deepEqual(failures, []);
      });
    });
  },
);
