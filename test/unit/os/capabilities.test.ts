/** /proc's capability lines (src/os/capabilities.ts): parsed exactly, and any privilege named. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CAP_NET_ADMIN,
  CAP_SYS_CHROOT,
  hasCapability,
  parseTaskPrivileges,
  privilegeProblem,
  privilegedThreads,
} from '../../../src/os/capabilities.js';

const status = (caps: { inh?: string; prm?: string; eff?: string; amb?: string; nnp?: string }): string =>
  [
    'Name:\tnode',
    'Uid:\t103\t103\t103\t103',
    `CapInh:\t${caps.inh ?? '0000000000000000'}`,
    `CapPrm:\t${caps.prm ?? '0000000000000000'}`,
    `CapEff:\t${caps.eff ?? '0000000000000000'}`,
    'CapBnd:\t000001ffffffffff',
    `CapAmb:\t${caps.amb ?? '0000000000000000'}`,
    `NoNewPrivs:\t${caps.nnp ?? '1'}`,
    'Seccomp:\t2',
  ].join('\n');

test('a thread without any capability, with no_new_privs, passes', () => {
  const parsed = parseTaskPrivileges(status({}));
  assert.deepEqual(parsed, { inheritable: 0n, permitted: 0n, effective: 0n, ambient: 0n, noNewPrivs: true });
  assert.equal(privilegeProblem(parsed), null);
});

test('each set holding a capability, and no_new_privs unset, is named', () => {
  const chroot = (1n << BigInt(CAP_SYS_CHROOT)).toString(16).padStart(16, '0');
  for (const [field, name] of [
    ['inh', 'CapInh'],
    ['prm', 'CapPrm'],
    ['eff', 'CapEff'],
    ['amb', 'CapAmb'],
  ] as const) {
    assert.equal(privilegeProblem(parseTaskPrivileges(status({ [field]: chroot }))), `${name} 40000`);
  }
  assert.equal(privilegeProblem(parseTaskPrivileges(status({ nnp: '0' }))), 'no_new_privs unset');
  assert.equal(privilegeProblem(null), 'unreadable status');
});

test('a status without one of the fields is unreadable, not privilege-free', () => {
  assert.equal(parseTaskPrivileges(status({}).replace(/^CapAmb.*$/m, '')), null);
  assert.equal(parseTaskPrivileges(status({}).replace(/^NoNewPrivs.*$/m, '')), null);
  assert.equal(parseTaskPrivileges(status({ eff: 'zz' })), null);
});

test('hasCapability reads one bit', () => {
  const set = (1n << BigInt(CAP_NET_ADMIN)) | (1n << BigInt(CAP_SYS_CHROOT));
  assert.ok(hasCapability(set, CAP_NET_ADMIN));
  assert.ok(hasCapability(set, CAP_SYS_CHROOT));
  assert.ok(!hasCapability(set, 13));
});

test('privilegedThreads reads every thread of this process', () => {
  // This test process has not set no_new_privs: every thread is reported, none missed.
  const problems = privilegedThreads();
  assert.ok(problems.length >= 1);
  for (const problem of problems) assert.match(problem, /^thread \d+: .*no_new_privs unset/);
});
