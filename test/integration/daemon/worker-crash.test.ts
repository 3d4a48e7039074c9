/**
 * Issue 6: a data-plane worker that crashes is replaced in place, inside the engine's chroot,
 * as the unprivileged user, from the program the engine holds in memory; the peer table and the
 * tunnel survive. In the lab (our server, our relay, our client behind a cone NAT, one worker
 * each so that the crash hits the traffic), with the test-only fault injection switch on: while
 * the IPv6 host pings the client 50 times a second, worker 0 of the relay and then of the client
 * throw from their packet loops. The engines keep their pids, the client keeps its address, the
 * pings come back after a short gap (counted and reported), and each daemon logs the failure,
 * the replacement and the replacement's own check (unprivileged, in the jail) before it reads.
 * The jail the daemons share stays empty throughout: nothing is ever written into it.
 */
import { after, before, describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { FAULT_INJECTION_ENV } from '../../../src/ipc/engine-launch.js';
import { netnsSkip } from '../../support/netns.js';
import { createLab, IPV6HOST_IPV6 } from '../../../scripts/lab/index.js';
import type { Lab, LabDaemon, Qualified, TeredoClient } from '../../../scripts/lab/index.js';
import { LabStory, ping, QUALIFY_TIMEOUT_MS } from '../lab/lab-test-tools.js';
import { engineCounters } from '../lab/tunnel-tools.js';

const ONE_WORKER = ['DataplaneWorkers 1'];
const PING_INTERVAL_S = 0.02;
const READING = /"msg":"Data-plane worker 0 reads as uid 65534 gid 65534, in the jail"/;
const REPLACED = /"msg":"Data-plane worker 0 replaced in (\d+) ms"/;
const FAILED = /"msg":"Data-plane worker 0 failed: fault injection: data-plane worker 0 crashed on purpose"/;

/** The engine's pid, from the bootstrap's "Engine N ready" lines (every one it ever logged). */
function enginePids(daemon: LabDaemon): number[] {
  return daemon.output.flatMap((line) => {
    const match = /"msg":"Engine (\d+) ready"/.exec(line.text);
    return match === null ? [] : [Number(match[1])];
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface Losses {
  readonly transmitted: number;
  readonly received: number;
  readonly lost: readonly number[];
  /** The longest run of consecutive unanswered requests. */
  readonly longestGap: number;
  /** The slowest reply (a request that waited in the kernel for the replacement). */
  readonly maxRttMs: number;
}

/** Which echo requests of a `ping -n` run got no reply, by icmp_seq. */
function losses(output: string): Losses {
  const answered = new Set<number>();
  let maxRttMs = 0;
  for (const match of output.matchAll(/icmp_seq=(\d+) .*time=([0-9.]+) ms/g)) {
    answered.add(Number(match[1]));
    maxRttMs = Math.max(maxRttMs, Number(match[2]));
  }
  const summary = /(\d+) packets transmitted, (\d+) received/.exec(output);
  const transmitted = Number(summary?.[1] ?? 0);
  const lost: number[] = [];
  let gap = 0;
  let longestGap = 0;
  for (let seq = 1; seq <= transmitted; seq += 1) {
    if (answered.has(seq)) gap = 0;
    else {
      lost.push(seq);
      gap += 1;
      longestGap = Math.max(longestGap, gap);
    }
  }
  return { transmitted, received: Number(summary?.[2] ?? 0), lost, longestGap, maxRttMs };
}

/** Crashes worker 0 of `daemon`'s engine (SIGUSR2) and waits for the replacement; its duration in ms. */
async function crashWorker(t: TestContext, daemon: LabDaemon, enginePid: number): Promise<number> {
  const seen = daemon.output.length;
  process.kill(enginePid, 'SIGUSR2');
  const pattern = REPLACED;
  const line = await daemon.waitForOutput(pattern, 10_000);
  const ms = Number(pattern.exec(line)?.[1]);
  const failed = daemon.output.slice(seen).find((entry) => FAILED.test(entry.text));
  assert.ok(failed, `${daemon.node} logged the failure`);
  assert.match(failed.text, /"level":50/, 'at error level');
  // The replacement checked for itself that it is unprivileged and jailed before it read.
  await daemon.waitForOutput(READING, 10_000, seen);
  t.diagnostic(`${daemon.node}: worker 0 replaced in ${ms} ms`);
  return ms;
}

describe('a crashed data-plane worker is replaced in place, in the jail', { skip: netnsSkip() }, () => {
  const story = new LabStory();
  const previousSwitch = process.env[FAULT_INJECTION_ENV];
  let lab: Lab | undefined;
  let relay: LabDaemon | undefined;
  let server: LabDaemon | undefined;
  let alice: TeredoClient | undefined;
  let qualified: Qualified | undefined;

  before(async () => {
    // Our daemons inherit it from this process, as from root's shell.
    process.env[FAULT_INJECTION_ENV] = '1';
    lab = await createLab({
      nats: [{ name: 'cone1', kind: 'cone', clients: ['alice'] }],
      onProgress: story.listener,
    });
    const started = lab;
    await story.explain(started, async () => {
      server = await started.startServer('ours');
      relay = await started.startRelay('ours', { relayType: 'cone', extraConfig: ONE_WORKER });
      alice = await started.startClient('alice', 'ours', { extraConfig: ONE_WORKER });
      qualified = await started.waitQualified(alice, QUALIFY_TIMEOUT_MS);
    });
  });

  after(async () => {
    if (previousSwitch === undefined) delete process.env[FAULT_INJECTION_ENV];
    else process.env[FAULT_INJECTION_ENV] = previousSwitch;
    await lab?.destroy();
  });

  it('the jail is empty while the daemons run', () => {
    assert.ok(lab);
    assert.deepEqual(readdirSync(lab.jail), []);
  });

  it('relay and client workers crash under a ping flood; engines, address and tunnel survive', async (t) => {
    assert.ok(lab && relay && alice && qualified);
    const active = lab;
    const client = alice;
    const relayDaemon = relay;
    const address = qualified.address;
    await story.explain(active, async () => {
      const warmUp = await ping(t, active, 'ipv6host', address);
      assert.equal(warmUp.received, 3, warmUp.transcript);
      const [relayEngine] = enginePids(relayDaemon);
      const [clientEngine] = enginePids(client.daemon);
      assert.ok(relayEngine !== undefined && clientEngine !== undefined);
      assert.ok(relayDaemon.output.some((line) => /Fault injection is on/.test(line.text)));

      // About 8 s of pings, 50 a second; the crashes come at 1.5 s and 4 s.
      const flood = active.spawn(
        'ipv6host',
        'ping',
        ['-6', '-n', '-i', String(PING_INTERVAL_S), '-w', '8', address],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let output = '';
      flood.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
      const finished = new Promise<void>((resolve) => flood.once('exit', () => resolve()));
      await sleep(1500);
      const relayMs = await crashWorker(t, relayDaemon, relayEngine);
      await sleep(2500 - relayMs);
      const clientMs = await crashWorker(t, client.daemon, clientEngine);
      await finished;

      const result = losses(output);
      t.diagnostic(
        `ping flood: ${result.transmitted} sent, ${result.received} answered, lost icmp_seq ` +
          `${result.lost.join(',') || 'none'} (longest gap ${result.longestGap} = ` +
          `${Math.round(result.longestGap * PING_INTERVAL_S * 1000)} ms), slowest reply ${result.maxRttMs} ms`,
      );
      assert.ok(result.transmitted > 200, output);
      // Each crash costs at most about its replacement time (plus a batch); never the tunnel.
      const allowance = Math.ceil((relayMs + clientMs + 1000) / (PING_INTERVAL_S * 1000));
      assert.ok(result.lost.length <= allowance, `lost ${result.lost.length} > ${allowance}`);
      const tail = Array.from({ length: 25 }, (_, i) => result.transmitted - 25 - i);
      assert.ok(
        tail.every((seq) => !result.lost.includes(seq)),
        'the last half second of pings before the end all came back',
      );

      // Same engines, one start each; same address; traffic both ways.
      assert.deepEqual(enginePids(relayDaemon), [relayEngine]);
      assert.deepEqual(enginePids(client.daemon), [clientEngine]);
      assert.ok(alive(relayEngine) && alive(clientEngine));
      assert.equal((await client.currentAddress())?.address, address);
      const back = await ping(t, active, 'alice', IPV6HOST_IPV6);
      assert.equal(back.received, 3, back.transcript);
      for (const daemon of [relayDaemon, client.daemon]) {
        const counters = await engineCounters(daemon);
        assert.equal(counters['worker-failed'], 1, `${daemon.node}: one failure`);
        assert.equal(counters['worker-replaced'], 1, `${daemon.node}: one replacement`);
      }
    });
  });

  it('after the replacements and once every daemon has stopped, the jail is still empty', async () => {
    assert.ok(lab && relay && alice && server);
    assert.deepEqual(readdirSync(lab.jail), []);
    for (const daemon of [alice.daemon, relay, server]) {
      const exit = await daemon.stop(5000);
      assert.equal(exit.code, 0, `${daemon.node} exits 0`);
    }
    assert.deepEqual(readdirSync(lab.jail), []);
  });
});
