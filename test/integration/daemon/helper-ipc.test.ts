/**
 * The privileged helper refuses out-of-policy requests that arrive through the real channel
 * (another interface, an address outside the prefix, MTU 1000, a foreign route) and applies
 * in-policy ones, kills the engine for a malformed request, and marks the engine's log lines as
 * the engine's, in a throw-away namespace with a real TUN.
 * Hosting: helper-harness.ts runs the daemon's own createHelper + spawnEngine; the engine at
 * the other end is rogue-engine.ts, which sends the requests.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { createNetns, netnsSkip } from '../../support/netns.js';
import type { Netns } from '../../support/netns.js';
import { addresses6, DaemonRun, linkState, processGone } from './daemon-tools.js';
import type { LogLine } from './daemon-tools.js';
import { HARNESS_ENV, HARNESS_IFNAME } from './helper-harness.js';

const HARNESS = fileURLToPath(new URL('./helper-harness.js', import.meta.url));

describe('helper policy through the real IPC channel', { skip: netnsSkip() }, () => {
  let ns: (Netns & { delete(): Promise<void> }) | undefined;
  let harness: DaemonRun | undefined;
  const replies = new Map<number, Record<string, unknown>>();
  let done: LogLine = {};

  before(async () => {
    ns = await createNetns();
    const child = ns.spawn('env', [`${HARNESS_ENV}=1`, process.execPath, HARNESS], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    harness = new DaemonRun(child);
    done = await harness.waitForLog((l) => l['msg'] === 'harness: engine done', 20_000);
    for (const line of harness.lines.filter((l: LogLine) => l['msg'] === 'rogue: reply')) {
      replies.set(Number(line['id']), line['result'] as Record<string, unknown>);
    }
  });

  after(async () => {
    if (harness !== undefined && !processGone(harness.pid)) harness.child.kill('SIGTERM');
    await harness?.exited;
    await ns?.delete();
  });

  const refusal = (id: number): string => {
    const result = replies.get(id);
    assert.ok(result, `reply ${id} arrived`);
    assert.equal(result['ok'], false, JSON.stringify(result));
    assert.equal(result['kind'], 'refused');
    return String(result['reason']);
  };

  it('refuses a request for another interface', () => {
    assert.match(refusal(1), /interface index 1 is not this daemon's interface/);
    assert.match(refusal(6), /interface index 1 is not this daemon's interface/);
  });

  it('refuses an address outside the Teredo prefix', () => {
    assert.match(refusal(2), /address 2001:db8::1 is outside the Teredo prefix 2001::\/32/);
  });

  it('refuses MTU 1000', () => {
    assert.match(refusal(3), /MTU 1000 is outside 1280\.\.65535/);
  });

  it('refuses a foreign route', () => {
    assert.match(refusal(5), /route 2001:db8::\/32 is neither the Teredo prefix route/);
  });

  it('logs every refusal as a warning', () => {
    assert.ok(harness);
    const warnings = harness.lines.filter((l) => l['level'] === 40 && /^Refused /.test(String(l['msg'])));
    assert.equal(warnings.length, 5, warnings.map((l) => l['msg']).join('\n'));
  });

  it('kills the engine for a malformed request, a protocol violation, without answering it', () => {
    assert.ok(harness);
    assert.equal(replies.has(4), false);
    assert.equal(done['signal'], 'SIGKILL');
    const violation = harness.lines.find((l) => /^Protocol violation by engine \d+: /.test(String(l['msg'])));
    assert.ok(violation, 'logged');
    assert.equal(violation['level'], 60);
    assert.equal(violation['child'], done['engine']);
    assert.match(String(violation['reason']), /^invalid message: mtu: /);
  });

  it("marks the engine's log lines as the engine's, even one forged as the harness's", () => {
    assert.ok(harness);
    const forged = harness.lines.find((l) => l['msg'] === 'rogue: forged');
    assert.ok(forged, 'forwarded');
    assert.equal(forged['name'], 'miredo-engine');
    assert.equal(forged['pid'], done['engine']);
    assert.equal(forged['engine'], done['engine']);
    assert.notEqual(forged['pid'], harness.pid);
  });

  it('applies in-policy requests, and nothing else reached the kernel', async () => {
    assert.ok(ns);
    assert.deepEqual(replies.get(7), { ok: true });
    assert.deepEqual(replies.get(8), { ok: true });
    assert.equal((await linkState(ns, HARNESS_IFNAME))?.mtu, 1400);
    const addresses = await addresses6(ns, HARNESS_IFNAME);
    assert.ok(addresses.includes('2001:0:c633:6401::1/32'), addresses.join(', '));
    assert.ok(!addresses.some((a) => a.startsWith('2001:db8:')));
    assert.equal((await linkState(ns, 'lo'))?.mtu, 65536);
    assert.ok(!(await addresses6(ns, 'lo')).some((a) => a.startsWith('2001:')));
  });
});
