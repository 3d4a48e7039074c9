/**
 * Miredo's client hook with our client in the netns lab: the bootstrap runs the hook named by
 * MIREDO_TS_CLIENT_HOOK with Miredo's variables on up, and down then destroy on exit; and
 * Debian's own /etc/miredo/client-hook (which flushes and redoes the interface) leaves a
 * working tunnel (through our relay in restricted mode, this time).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLab, pollUntil } from '../../../scripts/lab/index.js';
import type { Lab } from '../../../scripts/lab/index.js';
import { CLIENT_HOOK_ENV } from '../../../src/bootstrap/client-hook.js';
import { netnsSkip } from '../../support/netns.js';

const DEBIAN_HOOK = '/etc/miredo/client-hook';

interface HookRun {
  readonly STATE: string;
  readonly ADDRESS: string;
  readonly LLADDRESS: string;
  readonly MTU: string;
  readonly IFACE: string;
  readonly IFINDEX: string;
  readonly OLD_STATE: string;
  readonly OLD_ADDRESS: string;
}

const FIELDS = [
  'STATE',
  'ADDRESS',
  'LLADDRESS',
  'MTU',
  'IFACE',
  'IFINDEX',
  'OLD_STATE',
  'OLD_ADDRESS',
] as const;

async function hookRuns(file: string): Promise<HookRun[]> {
  const text = existsSync(file) ? await readFile(file, 'utf8') : '';
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const values = line.split(' ');
      return Object.fromEntries(FIELDS.map((name, i) => [name, values[i] ?? ''])) as unknown as HookRun;
    });
}

describe('client hook', { skip: netnsSkip() }, () => {
  let lab: Lab | undefined;
  let dir = '';
  const saved = process.env[CLIENT_HOOK_ENV];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mts-hook-'));
    await chmod(dir, 0o755);
    lab = await createLab({
      nats: [
        { name: 'nat1', kind: 'cone', clients: ['dave'] },
        { name: 'nat2', kind: 'cone', clients: ['erin'] },
      ],
    });
    await lab.startServer('debian');
    await lab.startRelay('ours', { relayType: 'restricted' });
  });

  after(async () => {
    if (saved === undefined) delete process.env[CLIENT_HOOK_ENV];
    else process.env[CLIENT_HOOK_ENV] = saved;
    await lab?.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  it("runs the hook with Miredo's variables on up, then down and destroy when the client stops", async () => {
    assert.ok(lab);
    const log = join(dir, 'runs.log');
    const hook = join(dir, 'hook.sh');
    await writeFile(hook, `#!/bin/sh\necho "${FIELDS.map((name) => `$${name}`).join(' ')}" >> ${log}\n`, {
      mode: 0o755,
    });
    process.env[CLIENT_HOOK_ENV] = hook;
    const dave = await lab.startClient('dave', 'ours');
    const qualified = await lab.waitQualified(dave, 20_000);
    const [link] = JSON.parse(await lab.run('dave', 'ip', ['-j', 'link', 'show', 'dev', 'teredo'])) as Array<{
      ifindex: number;
    }>;
    const runs = await pollUntil(
      async () => {
        const seen = await hookRuns(log);
        return seen.length >= 1 ? seen : undefined;
      },
      5000,
      'the hook to run',
    );
    assert.deepEqual(runs[0], {
      STATE: 'up',
      ADDRESS: qualified.address,
      LLADDRESS: 'fe80::ffff:ffff:ffff',
      MTU: '1280',
      IFACE: 'teredo',
      IFINDEX: String(link?.ifindex),
      OLD_STATE: 'down',
      OLD_ADDRESS: '::',
    });
    const exit = await dave.stop(5000);
    assert.equal(exit.code, 0);
    const all = await hookRuns(log);
    assert.deepEqual(
      all.map((run) => `${run.STATE} ${run.ADDRESS} (was ${run.OLD_STATE})`),
      [
        `up ${qualified.address} (was down)`,
        'down :: (was up)',
        'down :: (was down)',
        'destroy :: (was down)',
      ],
    );
  });

  it(
    "with Debian's own hook the tunnel still works",
    { skip: existsSync(DEBIAN_HOOK) ? false : `no ${DEBIAN_HOOK}` },
    async () => {
      assert.ok(lab);
      process.env[CLIENT_HOOK_ENV] = DEBIAN_HOOK;
      const erin = await lab.startClient('erin', 'ours');
      const qualified = await lab.waitQualified(erin, 20_000);
      // Give the hook (which flushes the interface and configures it again) time to finish.
      await erin.daemon.waitForOutput(/Client hook up done/, 10_000);
      const addresses = await lab.run('erin', 'ip', ['-6', 'addr', 'show', 'dev', 'teredo']);
      assert.match(addresses, new RegExp(`${qualified.address}/32`));
      assert.match(addresses, /fe80::ffff:ffff:ffff\/64/);
      assert.match(await lab.run('erin', 'ip', ['-6', 'route', 'show', 'default']), /dev teredo metric 1029/);
      const ping = await lab.ping6('erin', '2001:db8:1::2', { count: 3 });
      assert.ok(ping.received >= 2, `${ping.received}/3 replies`);
    },
  );
});
