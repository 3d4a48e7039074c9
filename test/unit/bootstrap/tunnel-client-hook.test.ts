/**
 * Miredo's client hook on the bootstrap side (src/bootstrap/client-hook.ts) and its path through
 * the helper: the variables Miredo's privproc sets, one run at a time, failures reported, a last
 * down and destroy when the engine goes, and the policy for `client-state` requests.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CLIENT_HOOK_ENV,
  clientHookPath,
  createClientHook,
  DEFAULT_CLIENT_HOOK,
  systemHookProbe,
  systemHookRunner,
} from '../../../src/bootstrap/client-hook.js';
import type { HookOutcome } from '../../../src/bootstrap/client-hook.js';
import { BARE_BASELINE, createHelper } from '../../../src/bootstrap/helper.js';
import { decideHelperRequest } from '../../../src/bootstrap/helper-policy.js';
import type { HelperPolicyContext } from '../../../src/bootstrap/helper-policy.js';
import type { HelperRequest } from '../../../src/ipc/bootstrap-engine-messages.js';
import { encodeTeredoAddress } from '../../../src/teredo/address.js';
import { formatIPv6 } from '../../../src/teredo/ipv6-text.js';
import { captureLog, FakeOs } from '../../support/fakes.js';
import { CLIENT_ADDRESS, SERVER_IPV4 } from '../../support/tunnel-harness.js';

const OURS = formatIPv6(CLIENT_ADDRESS);
const CONE_ADDRESS = encodeTeredoAddress({
  prefix: 0x20010000,
  server: SERVER_IPV4,
  flags: 0x8000,
  port: 1,
  client: 2,
});

interface Run {
  readonly env: Readonly<Record<string, string>>;
}

function recordingHook(
  outcome: (env: Readonly<Record<string, string>>) => HookOutcome = () => ({ code: 0, output: '' }),
) {
  const runs: Run[] = [];
  const { log, records } = captureLog();
  const hook = createClientHook({
    path: '/etc/miredo/client-hook',
    ifname: 'teredo',
    ifindex: 9,
    log,
    probe: () => Promise.resolve(true),
    runner: (_path, env) => {
      runs.push({ env });
      return Promise.resolve(outcome(env));
    },
  });
  return { hook, runs, records };
}

describe('client hook', () => {
  it("up: Miredo's variables, with the previous invocation in OLD_*", async () => {
    const { hook, runs } = recordingHook();
    await hook.report('up', CLIENT_ADDRESS, 1280);
    await hook.report('up', CONE_ADDRESS, 1400);
    assert.deepEqual(runs[0]?.env, {
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      IFINDEX: '9',
      IFACE: 'teredo',
      STATE: 'up',
      ADDRESS: OURS,
      LLADDRESS: 'fe80::ffff:ffff:ffff',
      MTU: '1280',
      OLD_STATE: 'down',
      OLD_ADDRESS: '::',
      OLD_LLADDRESS: 'fe80::ffff:ffff:ffff',
      OLD_MTU: '1280',
    });
    const second = runs[1]?.env;
    assert.equal(second?.['LLADDRESS'], 'fe80::8000:5445:5245:444f', 'cone bit → the cone link-local');
    assert.equal(second?.['MTU'], '1400');
    assert.equal(second?.['OLD_STATE'], 'up');
    assert.equal(second?.['OLD_ADDRESS'], OURS);
    assert.equal(second?.['OLD_MTU'], '1280');
  });

  it('down reports ::, and finish runs a last down then destroy', async () => {
    const { hook, runs } = recordingHook();
    await hook.report('up', CLIENT_ADDRESS, 1280);
    await hook.report('down', null, 1280);
    await hook.finish();
    assert.deepEqual(
      runs.map(
        (run) => `${run.env['STATE']} ${run.env['ADDRESS']} ${run.env['MTU']} (was ${run.env['OLD_STATE']})`,
      ),
      [
        'up ' + OURS + ' 1280 (was down)',
        'down :: 1280 (was up)',
        'down :: 1280 (was down)',
        'destroy :: 1280 (was down)',
      ],
    );
    await hook.report('up', CLIENT_ADDRESS, 1280);
    assert.equal(runs.at(-1)?.env['OLD_STATE'], 'down', 'a new engine starts from scratch');
  });

  it('a failing hook rejects with the reason and its output is logged; finish never rejects', async () => {
    const { hook, records } = recordingHook((env) =>
      env['STATE'] === 'up'
        ? { code: 3, output: 'no ip here\n' }
        : { code: null, output: '', error: 'EACCES' },
    );
    await assert.rejects(hook.report('up', CLIENT_ADDRESS, 1280), /client-hook exited with status 3/);
    assert.ok(records.some((r) => r['msg'] === 'no ip here' && r['state'] === 'up'));
    await hook.finish();
    assert.equal(records.filter((r) => /cannot run .*EACCES/.test(String(r['msg']))).length, 2);
  });

  it('runs one invocation at a time, in order', async () => {
    const order: string[] = [];
    let release: () => void = () => undefined;
    const { log } = captureLog();
    const hook = createClientHook({
      path: '/hook',
      ifname: 'teredo',
      ifindex: 9,
      log,
      probe: () => Promise.resolve(true),
      runner: async (_path, env) => {
        order.push(`start ${env['STATE']}`);
        if (env['STATE'] === 'up') await new Promise<void>((resolve) => (release = resolve));
        order.push(`end ${env['STATE']}`);
        return { code: 0, output: '' };
      },
    });
    const up = hook.report('up', CLIENT_ADDRESS, 1280);
    const down = hook.report('down', null, 1280);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(order, ['start up']);
    release();
    await Promise.all([up, down]);
    assert.deepEqual(order, ['start up', 'end up', 'start down', 'end down']);
  });

  it('does nothing when there is no executable hook', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mts-hook-'));
    try {
      const plain = join(dir, 'plain');
      writeFileSync(plain, '#!/bin/sh\nexit 1\n', { mode: 0o644 });
      assert.equal(await systemHookProbe(plain), false, 'not executable');
      assert.equal(await systemHookProbe(join(dir, 'missing')), false);
      assert.equal(await systemHookProbe(dir), false, 'a directory');
      const { log } = captureLog();
      let ran = false;
      const hook = createClientHook({
        path: join(dir, 'missing'),
        ifname: 'teredo',
        ifindex: 9,
        log,
        runner: () => {
          ran = true;
          return Promise.resolve({ code: 0, output: '' });
        },
      });
      await hook.report('up', CLIENT_ADDRESS, 1280);
      assert.equal(ran, false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the system runner gives the script exactly its variables, its status, and kills it at the timeout', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mts-hook-'));
    try {
      const script = join(dir, 'hook');
      const dump = join(dir, 'env');
      writeFileSync(script, `#!/bin/sh\nenv | sort > ${dump}\necho "said $STATE"\nexit 4\n`);
      chmodSync(script, 0o755);
      assert.equal(await systemHookProbe(script), true);
      const outcome = await systemHookRunner(script, { STATE: 'up', IFACE: 'teredo' }, 5000);
      assert.equal(outcome.code, 4);
      assert.equal(outcome.output, 'said up\n');
      const variables = readFileSync(dump, 'utf8')
        .split('\n')
        .filter(
          (line) =>
            line !== '' && !line.startsWith('PWD=') && !line.startsWith('SHLVL=') && !line.startsWith('_='),
        );
      assert.deepEqual(variables, ['IFACE=teredo', 'STATE=up']);
      writeFileSync(script, '#!/bin/sh\nexec sleep 30\n');
      const started = Date.now();
      const killed = await systemHookRunner(script, {}, 100);
      assert.equal(killed.code, null);
      assert.ok(Date.now() - started < 5000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('its path is /etc/miredo/client-hook unless MIREDO_TS_CLIENT_HOOK says otherwise', () => {
    assert.equal(clientHookPath({}), DEFAULT_CLIENT_HOOK);
    assert.equal(clientHookPath({ [CLIENT_HOOK_ENV]: '' }), DEFAULT_CLIENT_HOOK);
    assert.equal(clientHookPath({ [CLIENT_HOOK_ENV]: '/tmp/hook' }), '/tmp/hook');
  });
});

describe('client-state requests', () => {
  const state = (fields: Partial<Extract<HelperRequest, { type: 'client-state' }>>): HelperRequest => ({
    type: 'client-state',
    id: 1,
    ifindex: 9,
    state: 'up',
    address: OURS,
    mtu: 1280,
    ...fields,
  });
  const client: HelperPolicyContext = { ifindex: 9, prefix: 0x20010000, serverIPv4: SERVER_IPV4 };

  it("the policy takes a client's own address and MTU, or down with ::", () => {
    const verdict = (request: HelperRequest, context = client): string => {
      const decision = decideHelperRequest(request, context);
      return decision.accept ? 'accept' : decision.reason;
    };
    assert.equal(verdict(state({})), 'accept');
    assert.equal(verdict(state({ state: 'down', address: '::' })), 'accept');
    assert.match(verdict(state({ state: 'down' })), /carries the address ::/);
    assert.match(verdict(state({ address: 'fe80::ffff:ffff:ffff' })), /not a link-local/);
    assert.match(verdict(state({ address: '2001:db8::1' })), /outside the Teredo prefix/);
    assert.match(verdict(state({ mtu: 1279 })), /MTU 1279/);
    assert.match(verdict(state({ ifindex: 8 })), /not this daemon's interface/);
    assert.match(verdict(state({}), { ifindex: 9, prefix: 0x20010000, serverIPv4: null }), /only a client/);
  });

  it('the helper runs the hook for it, reports its failure, and finishes it when the engine goes', async () => {
    const calls: string[] = [];
    const { log } = captureLog();
    const helper = createHelper({
      tunnel: { name: 'teredo', index: 9 },
      prefix: 0x20010000,
      serverIPv4: SERVER_IPV4,
      baseline: BARE_BASELINE,
      tun: new FakeOs(),
      log,
      clientHook: {
        report: (hookState, address, mtu) => {
          calls.push(`${hookState} ${address === null ? '-' : formatIPv6(address)} ${mtu}`);
          return hookState === 'down'
            ? Promise.reject(new Error('hook exited with status 1'))
            : Promise.resolve();
        },
        finish: () => {
          calls.push('finish');
          return Promise.resolve();
        },
      },
    });
    assert.deepEqual(await helper.handle(state({})), { ok: true });
    const failed = await helper.handle(state({ state: 'down', address: '::' }));
    assert.equal(failed.ok, false);
    assert.match(failed.ok ? '' : failed.reason, /client-state down: hook exited with status 1/);
    await helper.revertEngineChanges();
    assert.deepEqual(calls, [`up ${OURS} 1280`, 'down :: 1280', 'finish']);
  });
});
