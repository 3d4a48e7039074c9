/**
 * Port mapping against a real miniupnpd (issue 14). NAT `home` is a symmetric NAT (random port per
 * flow) turned into a router with miniupnpd (scripts/lab/miniupnpd.ts: WAN 11.0.0.10); NAT `far`
 * is a port-restricted cone. Without a mapping that pair fails both ways (nat-matrix.test.ts). For
 * each protocol in turn (UPnP IGD, NAT-PMP, PCP; miniupnpd serves the last two together, our
 * client asks with one), two of our clients behind `home` map their Teredo port and qualify with
 * it: bob (behind `far`) reaches alice first, carol reaches bob first. The mapping outlives
 * several lifetimes (renewed), comes back after miniupnpd restarts with an empty table, and is
 * gone when the client stops. With the protocols off on the router, a client qualifies without a
 * mapping, within a second of the answer-less attempt.
 */
import { describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { netnsSkip } from '../../support/netns.js';
import { createLab } from '../../../scripts/lab/index.js';
import type { Lab, TeredoClient } from '../../../scripts/lab/index.js';
import { makeRouter, startMiniupnpd } from '../../../scripts/lab/miniupnpd.js';
import type { Miniupnpd, RouterOptions, RouterProtocols } from '../../../scripts/lab/miniupnpd.js';
import { LabStory, ping, QUALIFY_TIMEOUT_MS } from './lab-test-tools.js';

const PING = { count: 1, intervalSeconds: 0.5, deadlineSeconds: 7 } as const;
const LIFETIME_SECONDS = 4;
const ROUTER: RouterOptions = { wanIPv4: '11.0.0.10', symmetric: true, minLifetime: 2 };
const PROTOCOLS: ReadonlyArray<readonly [string, RouterProtocols]> = [
  ['upnp', 'upnp'],
  ['natpmp', 'natpmp-pcp'],
  ['pcp', 'natpmp-pcp'],
];

interface LogRecord {
  readonly msg?: string;
  readonly [field: string]: unknown;
}

function records(client: TeredoClient, msg: string): Array<{ atMs: number; record: LogRecord }> {
  return client.daemon.output
    .filter((line) => line.text.startsWith('{'))
    .map((line) => ({ atMs: line.atMs, record: JSON.parse(line.text) as LogRecord }))
    .filter(({ record }) => record.msg === msg);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await sleep(100);
  }
}

async function startMapped(
  lab: Lab,
  node: string,
  protocol: string,
): Promise<{ client: TeredoClient; port: number }> {
  const client = await lab.startClient(node, 'ours', {
    extraConfig: ['DataplaneWorkers 1', `PortMapping ${protocol}`, `PortMappingLifetime ${LIFETIME_SECONDS}`],
  });
  const qualified = await client.waitQualified(QUALIFY_TIMEOUT_MS);
  const created = records(client, 'Port mapping created')[0]?.record;
  assert.ok(created !== undefined, `${node}: no mapping\n${client.daemon.transcript()}`);
  assert.equal(created.protocol, protocol);
  assert.equal(qualified.mappedIPv4, ROUTER.wanIPv4, `${node}'s Teredo address carries the router's address`);
  assert.equal(
    qualified.mappedPort,
    created.externalPort,
    `${node}'s Teredo address carries the mapped port`,
  );
  return { client, port: Number(created.externalPort) };
}

async function protocolRound(
  t: TestContext,
  lab: Lab,
  protocol: string,
  router: Miniupnpd,
): Promise<Miniupnpd> {
  const alice = await startMapped(lab, 'alice', protocol);
  const carol = await startMapped(lab, 'carol', protocol);
  const bob = await lab.startClient('bob', 'ours', {
    extraConfig: ['DataplaneWorkers 1', 'PortMapping off'],
  });
  const bobAddress = (await bob.waitQualified(QUALIFY_TIMEOUT_MS)).address;
  const aliceAddress = (await alice.client.currentAddress())!.address;
  assert.equal(
    (await ping(t, lab, 'bob', aliceAddress, PING)).received,
    1,
    `${protocol}: bob → alice (cone first)`,
  );
  assert.equal(
    (await ping(t, lab, 'carol', bobAddress, PING)).received,
    1,
    `${protocol}: carol → bob (mapped first)`,
  );
  const mapped = (port: number) => async (): Promise<boolean> =>
    (await router.mappings()).some((line) => line.startsWith(`${port} `));
  assert.ok(
    await mapped(alice.port)(),
    `${protocol}: miniupnpd holds alice's mapping\n${await lab.run('home', 'iptables-legacy-save', [])}`,
  );

  // Renewed: still there after twice its lifetime.
  await sleep(2 * LIFETIME_SECONDS * 1000);
  assert.ok(await mapped(alice.port)(), `${protocol}: renewed past its lifetime`);

  // The router restarts with an empty table: the next renewal recreates the mapping.
  await router.stop();
  assert.equal(await mapped(alice.port)(), false, `${protocol}: the stopped router has no mapping`);
  const restarted = await startMiniupnpdAgain(lab, protocol);
  await waitFor(`${protocol}: mapping recreated`, mapped(alice.port), LIFETIME_SECONDS * 1000 + 3000);
  if (protocol !== 'upnp') {
    // PCP and NAT-PMP tell by their epoch that the table was lost.
    await alice.client.daemon.waitForOutput(
      /Port mapping recreated: the gateway had lost it/,
      LIFETIME_SECONDS * 1000,
    );
  }

  await alice.client.stop();
  assert.equal(await mapped(alice.port)(), false, `${protocol}: removed on stop`);
  t.diagnostic(`${protocol}: alice ${aliceAddress} on 11.0.0.10:${alice.port}; carol on port ${carol.port}`);
  await carol.client.stop();
  await bob.stop();
  return restarted;
}

function startMiniupnpdAgain(lab: Lab, protocol: string): Promise<Miniupnpd> {
  return startMiniupnpd(lab, 'home', protocol === 'upnp' ? 'upnp' : 'natpmp-pcp', ROUTER);
}

describe('port mapping with a real miniupnpd', () => {
  it(
    'UPnP IGD, NAT-PMP and PCP each make a symmetric NAT reach a port-restricted cone both ways',
    { skip: netnsSkip() },
    async (t) => {
      const story = new LabStory();
      const lab = await createLab({
        nats: [
          { name: 'home', kind: 'symmetric', clients: ['alice', 'carol', 'dave'] },
          { name: 'far', kind: 'cone', clients: ['bob'] },
        ],
        onProgress: story.listener,
      });
      try {
        await story.explain(lab, async () => {
          await makeRouter(lab, 'home', ROUTER);
          await lab.startServer('ours');
          for (const [protocol, served] of PROTOCOLS) {
            const router = await startMiniupnpd(lab, 'home', served, ROUTER);
            const last = await protocolRound(t, lab, protocol, router);
            await last.stop();
          }

          // Off on the router: nothing listens, the gateway refuses at once; no mapping, no delay.
          const router = await startMiniupnpd(lab, 'home', 'none', ROUTER);
          const dave = await lab.startClient('dave', 'ours', { extraConfig: ['DataplaneWorkers 1'] });
          await dave.waitQualified(QUALIFY_TIMEOUT_MS);
          assert.equal(records(dave, 'Port mapping created').length, 0);
          assert.deepEqual(await router.mappings(), []);
          const none = records(dave, 'No port mapping: the gateway offers none')[0];
          const started = records(dave, 'Privileges dropped')[0];
          assert.ok(none !== undefined && started !== undefined, dave.daemon.transcript());
          t.diagnostic(
            `without a mapping service: gave up ${none.atMs - started.atMs} ms after the engine dropped privileges`,
          );
          assert.ok(none.atMs - started.atMs <= 1000);
          await dave.stop();
          await router.stop();
        });
      } finally {
        await lab.destroy();
      }
    },
  );
});
