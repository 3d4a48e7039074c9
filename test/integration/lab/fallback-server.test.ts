/**
 * FallbackServerAddress in the lab: two of our servers (198.51.100.1/.2, the primary, and
 * 198.51.100.5/.6), our relay, and two of our clients behind one cone NAT, each configured with
 * `ServerAddress 198.51.100.1` and `FallbackServerAddress 198.51.100.5`.
 *
 * - alice qualifies with the primary; the primary stops: at her next refresh (at most 20 s later)
 *   her round goes unanswered (12 s), and she qualifies with the fallback at once;
 * - bob starts as the primary stops: his first round goes unanswered, then the fallback.
 * Both then reach the IPv6 host through the relay, and `miredo-ctl status` names the fallback.
 * The times (from the primary's failure, and from bob's start) are the test's diagnostics.
 */
import { describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { netnsSkip } from '../../support/netns.js';
import { createLab, IPV6HOST_IPV6 } from '../../../scripts/lab/index.js';
import type { Lab, TeredoClient } from '../../../scripts/lab/index.js';
import { pollUntil } from '../../../scripts/lab/wait.js';
import { LabStory, QUALIFY_TIMEOUT_MS } from './lab-test-tools.js';

const PRIMARY = '198.51.100.1';
const FALLBACK = ['198.51.100.5', '198.51.100.6'] as const;
const OURS = ['DataplaneWorkers 1', `FallbackServerAddress ${FALLBACK[0]}`];
/** The refresh interval (20 s), the round left unanswered (3 RSs 4 s apart), and some slack. */
const FAILOVER_BOUND_MS = 20_000 + 12_000 + 8_000;
/** Bob's start (Node.js and the engine, seconds on a loaded machine), then his unanswered round. */
const START_BOUND_MS = 12_000 + QUALIFY_TIMEOUT_MS;

const execFileAsync = promisify(execFile);
const CTL_BIN = fileURLToPath(new URL('../../../../bin/miredo-ctl', import.meta.url));

/** Resolves with the time since `sinceMs` once `client` holds an address of the fallback server. */
async function onFallback(client: TeredoClient, sinceMs: number, timeoutMs: number): Promise<number> {
  await pollUntil(
    async () => ((await client.currentAddress())?.server === FALLBACK[0] ? true : undefined),
    timeoutMs,
    `${client.node} on the fallback server ${FALLBACK[0]}`,
    client.daemon,
  );
  return Date.now() - sinceMs;
}

/** A ping from `node` to the IPv6 host answered within 10 s (a new address's route settles first). */
async function answers(lab: Lab, node: string): Promise<number> {
  const startedAt = Date.now();
  let last = '';
  try {
    await pollUntil(
      async () => {
        const result = await lab.ping6(node, IPV6HOST_IPV6, { count: 1, deadlineSeconds: 2 });
        last = result.transcript;
        return result.received > 0 ? true : undefined;
      },
      10_000,
      `a ping from ${node} answered`,
    );
  } catch (error) {
    throw new Error(`no ping from ${node} answered within 10 s; the last: ${last}`, { cause: error });
  }
  return Date.now() - startedAt;
}

async function serverLine(client: TeredoClient): Promise<string> {
  const pidFile = client.daemon.configPath.replace(/\.conf$/, '.pid');
  const { stdout } = await execFileAsync(process.execPath, [CTL_BIN, '-p', pidFile, 'status']);
  return /^Server: +(.*)$/m.exec(stdout)?.[1] ?? `no Server line in:\n${stdout}`;
}

async function report(t: TestContext, lab: Lab, client: TeredoClient, what: string, ms: number) {
  const pingMs = await answers(lab, client.node);
  t.diagnostic(`${client.node}: ${what} ${ms} ms; a ping to the IPv6 host answered ${pingMs} ms later`);
  const line = await serverLine(client);
  t.diagnostic(`${client.node}: miredo-ctl status: Server: ${line}`);
  assert.match(line, new RegExp(`^${FALLBACK[0].replaceAll('.', '\\.')} \\(fallback, last answer`));
  assert.equal(client.daemon.status, null, `${client.node} still running`);
}

describe('FallbackServerAddress: the primary server down', { skip: netnsSkip() }, () => {
  it('our clients qualify through the fallback server and reach the IPv6 host', async (t) => {
    const story = new LabStory();
    const lab = await createLab({
      nats: [{ name: 'home', kind: 'cone', clients: ['alice', 'bob'] }],
      onProgress: story.listener,
    });
    try {
      await story.explain(lab, async () => {
        const serverNode = lab.node('server');
        assert.ok(serverNode.role === 'server');
        for (const address of FALLBACK) {
          await lab.namespace('server').ip(['addr', 'add', `${address}/24`, 'dev', serverNode.interfaceName]);
        }
        const primary = await lab.startServer('ours');
        await lab.startServer('ours', { primaryIPv4: FALLBACK[0], secondaryIPv4: FALLBACK[1] });
        await lab.startRelay('ours', { relayType: 'cone' });
        const alice = await lab.startClient('alice', 'ours', { serverAddress: PRIMARY, extraConfig: OURS });
        const first = await lab.waitQualified(alice, QUALIFY_TIMEOUT_MS);
        assert.equal(first.server, PRIMARY, 'alice qualifies with the primary while it answers');

        await primary.stop();
        const failedAt = Date.now();
        const bob = await lab.startClient('bob', 'ours', { serverAddress: PRIMARY, extraConfig: OURS });
        const [aliceMs, bobMs] = await Promise.all([
          onFallback(alice, failedAt, FAILOVER_BOUND_MS),
          onFallback(bob, bob.daemon.startedAt, START_BOUND_MS),
        ]);
        await report(t, lab, alice, 'on the fallback server after the primary stopped:', aliceMs);
        await report(t, lab, bob, 'started with the primary down: on the fallback server after', bobMs);
      });
    } finally {
      await lab.destroy();
    }
  });
});
