/**
 * A client that survives its server's name and a reload, in the lab, ours beside Debian's Miredo:
 *
 * - ServerAddress is a name that does not resolve at start: ours keeps running (it used to exit
 *   with status 1), and qualifies once the name resolves (its resolver retries after 1 s, 2 s,
 *   4 s...). The name lives in a hosts file of the client's namespace only (`ip netns exec`
 *   bind-mounts /etc/netns/<namespace>/hosts and resolv.conf over /etc's), with a resolv.conf
 *   that points at a port nobody listens on, so DNS fails at once. Miredo would retry after
 *   100 s: not waited for here.
 * - SIGHUP with an unchanged file: ours qualifies again and keeps its address, route and
 *   interface (nothing asked of the helper, no hook run); Miredo restarts its tunnel, and the
 *   time its address is gone is measured and reported.
 */
import { describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { netnsSkip } from '../../support/netns.js';
import { createLab, IPV6HOST_IPV6 } from '../../../scripts/lab/index.js';
import type { Lab, TeredoClient } from '../../../scripts/lab/index.js';
import { LabStory, ping, QUALIFY_TIMEOUT_MS } from './lab-test-tools.js';

const SERVER_NAME = 'teredo.lab.test';
const OURS = ['DataplaneWorkers 1'];

/** Per-namespace resolver files, removed when the test ends. */
async function namespaceResolver(
  t: TestContext,
  namespace: string,
): Promise<(hosts: string) => Promise<void>> {
  const directory = `/etc/netns/${namespace}`;
  await mkdir(directory, { recursive: true });
  t.after(() => rm(directory, { recursive: true, force: true }));
  await writeFile(`${directory}/resolv.conf`, 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n');
  // Written in place: the bind mount holds this file's inode.
  const write = (hosts: string): Promise<void> =>
    writeFile(`${directory}/hosts`, `127.0.0.1 localhost\n${hosts}`);
  await write('');
  return write;
}

/** How long the client's Teredo address is absent while polled every 20 ms for `windowMs`. */
async function absence(
  client: TeredoClient,
  windowMs: number,
): Promise<{ goneMs: number; changed: boolean }> {
  const before = (await client.currentAddress())?.address ?? null;
  const deadline = Date.now() + windowMs;
  let goneMs = 0;
  let changed = false;
  let last = Date.now();
  while (Date.now() < deadline) {
    const current = await client.currentAddress();
    const now = Date.now();
    if (current === null) goneMs += now - last;
    else if (current.address !== before) changed = true;
    last = now;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { goneMs, changed };
}

describe('a client that survives its server name and a reload', { skip: netnsSkip() }, () => {
  it('an unresolvable name is not fatal; SIGHUP re-qualifies without an address flap', async (t) => {
    const story = new LabStory();
    const lab: Lab = await createLab({
      nats: [{ name: 'home', kind: 'cone', clients: ['alice', 'bob'] }],
      onProgress: story.listener,
    });
    try {
      await story.explain(lab, async () => {
        const setHosts = await namespaceResolver(t, lab.namespace('alice').name);
        await lab.startServer('ours');
        await lab.startRelay('ours', { relayType: 'cone' });
        const alice = await lab.startClient('alice', 'ours', {
          serverAddress: SERVER_NAME,
          extraConfig: OURS,
        });
        const bob = await lab.startClient('bob', 'debian');
        await alice.daemon.waitForOutput(/Cannot resolve Teredo server address/, 10_000);
        await new Promise((resolve) => setTimeout(resolve, 1500));
        assert.equal(alice.daemon.status, null, 'still running with an unresolvable server name');
        assert.equal(await alice.currentAddress(), null);

        await setHosts(`198.51.100.1 ${SERVER_NAME}\n`);
        const resolvedAt = Date.now();
        const qualified = await lab.waitQualified(alice, QUALIFY_TIMEOUT_MS);
        const recoveryMs = Date.now() - resolvedAt;
        t.diagnostic(`ours: qualified ${recoveryMs} ms after the name became resolvable`);
        assert.ok(recoveryMs < 10_000, `qualified ${recoveryMs} ms after the name resolved`);
        assert.ok((await ping(t, lab, 'alice', IPV6HOST_IPV6)).received > 0);

        await lab.waitQualified(bob, QUALIFY_TIMEOUT_MS);
        const from = alice.daemon.output.length;
        process.kill(alice.daemon.pid, 'SIGHUP');
        await alice.daemon.waitForOutput(/Qualifying again with the Teredo server/, 5000, from);
        const ours = await absence(alice, 3000);
        const after = alice.daemon.output.slice(from).map((line) => line.text);
        assert.deepEqual(ours, { goneMs: 0, changed: false }, after.join('\n'));
        assert.equal((await alice.currentAddress())?.address, qualified.address);
        assert.ok(
          !after.some((line) => /Applied|Client hook|New Teredo address/.test(line)),
          after.join('\n'),
        );

        process.kill(bob.daemon.pid, 'SIGHUP');
        const miredo = await absence(bob, 6000);
        t.diagnostic(
          `SIGHUP: ours without an address for ${ours.goneMs} ms; Miredo ${miredo.goneMs} ms` +
            ` (address ${miredo.changed ? 'changed' : 'kept'})`,
        );
        await lab.waitQualified(bob, QUALIFY_TIMEOUT_MS);
      });
    } finally {
      await lab.destroy();
    }
  });
});
