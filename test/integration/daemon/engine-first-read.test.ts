/**
 * Issue 11, finding 1: no byte from the network is read before the whole engine is jailed and
 * unprivileged. The sockets are the bootstrap's, open (and queueing) before any engine exists
 * and across engine restarts, so datagrams wait on the UDP socket before each of two engines
 * starts (engine-harness.ts runs the real engine as the bootstrap does). For each engine:
 * - its worker says, at its first read, that it reads as uid/gid 65534 inside the jail, and it
 *   says so after the engine's "Privileges dropped";
 * - every queued datagram is then read and counted (not lost: read later);
 * - with strace installed, the kernel's own record agrees: the engine's first recvmmsg, on any
 *   of its threads, comes after its chroot and its setuid.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createJailDirectory, removeJailDirectory } from '../../../scripts/lab/jail.js';
import { createNetns, netnsSkip } from '../../support/netns.js';
import type { Netns } from '../../support/netns.js';
import { DaemonRun, processGone } from './daemon-tools.js';
import type { LogLine } from './daemon-tools.js';
import { ENGINE_HARNESS_ENV, ENGINE_HARNESS_JAIL, QUEUED } from './engine-harness.js';

const HARNESS = fileURLToPath(new URL('./engine-harness.js', import.meta.url));
const STRACE = '/usr/bin/strace';
const READING = /^Data-plane worker 0 reads as uid (\d+) gid (\d+), in the jail$/;

/** Which line of `trace` (strace -f output) first shows each syscall by `pid` or its threads. */
function firstCalls(trace: readonly string[], pid: number): Map<string, number> {
  const threads = new Set([pid]);
  const first = new Map<string, number>();
  trace.forEach((line, index) => {
    const match = /^(\d+) +(?:<\.\.\. )?(\w+)\(/.exec(line);
    if (match === null || !threads.has(Number(match[1]))) return;
    const call = match[2] ?? '';
    if (!first.has(call)) first.set(call, index);
    const created = /^\d+ +clone3?\(.*CLONE_THREAD.*\) = (\d+)$/.exec(line);
    if (created !== null) threads.add(Number(created[1]));
  });
  return first;
}

describe('the engine reads no datagram before it is jailed and unprivileged', { skip: netnsSkip() }, () => {
  let ns: (Netns & { delete(): Promise<void> }) | undefined;
  let harness: DaemonRun | undefined;
  let jail = '';
  let dir = '';
  const traced = existsSync(STRACE);

  before(async () => {
    ns = await createNetns();
    jail = createJailDirectory('mts-first-read-');
    dir = mkdtempSync(join(tmpdir(), 'mts-first-read-'));
    const harnessCommand = [process.execPath, HARNESS];
    const command = traced
      ? [
          STRACE,
          ...['-f', '-qq', '--seccomp-bpf', '-e', 'signal=none', '-o', join(dir, 'trace')],
          ...['-e', 'trace=clone,clone3,chroot,setuid,recvmmsg'],
          ...harnessCommand,
        ]
      : harnessCommand;
    const child = ns.spawn('env', [`${ENGINE_HARNESS_ENV}=1`, `${ENGINE_HARNESS_JAIL}=${jail}`, ...command], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    harness = new DaemonRun(child);
    await harness.waitForLog((l) => l['msg'] === 'harness: done', 60_000);
    await harness.exited;
  });

  after(async () => {
    if (harness !== undefined && !processGone(harness.pid)) harness.child.kill('SIGKILL');
    await ns?.delete();
    if (jail !== '') removeJailDirectory(jail);
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  /** Each engine's lines, by its pid, and the harness's "counted" line for it. */
  const engines = (): Array<{ pid: number; lines: LogLine[]; counted: LogLine }> => {
    assert.ok(harness);
    return harness.lines
      .filter((l) => l['msg'] === 'harness: counted')
      .map((counted) => {
        const pid = Number(counted['engine']);
        return { pid, counted, lines: harness?.lines.filter((l) => l['pid'] === pid) ?? [] };
      });
  };

  it('two engines, one after the other, each found datagrams already queued', () => {
    assert.equal(engines().length, 2);
  });

  it("each worker's first read is as uid/gid 65534 in the jail, after the privilege drop", () => {
    for (const { pid, lines } of engines()) {
      const texts = lines.map((l) => String(l['msg']));
      const dropped = texts.indexOf('Privileges dropped');
      const reading = texts.findIndex((text) => READING.test(text));
      assert.ok(dropped >= 0, `engine ${pid} dropped privileges:\n${texts.join('\n')}`);
      assert.ok(reading > dropped, `engine ${pid} read only after the drop:\n${texts.join('\n')}`);
      const [, uid, gid] = READING.exec(texts[reading] ?? '') ?? [];
      assert.deepEqual([Number(uid), Number(gid)], [65534, 65534]);
    }
  });

  it('the queued datagrams were read after all, every one, in the jail', () => {
    for (const { pid, counted } of engines()) {
      const counters = counted['counters'] as Record<string, number>;
      assert.equal(counters['udp-received'], QUEUED, `engine ${pid}: ${JSON.stringify(counters)}`);
      assert.equal(counted['root'], jail, `engine ${pid} runs chrooted in the jail`);
    }
  });

  it("the kernel's record: each engine's first recvmmsg comes after its chroot and setuid", (t) => {
    if (!traced) {
      t.skip(`${STRACE} is not installed`);
      return;
    }
    const trace = readFileSync(join(dir, 'trace'), 'utf8').split('\n');
    for (const { pid } of engines()) {
      const first = firstCalls(trace, pid);
      const [chroot, setuid, recvmmsg] = ['chroot', 'setuid', 'recvmmsg'].map((call) => first.get(call));
      assert.ok(chroot !== undefined && setuid !== undefined && recvmmsg !== undefined, `engine ${pid}`);
      assert.ok(
        chroot < setuid && setuid < recvmmsg,
        `engine ${pid}: chroot at line ${chroot}, setuid at ${setuid}, recvmmsg at ${recvmmsg}: ` +
          (trace[recvmmsg] ?? '').slice(0, 120),
      );
    }
  });
});
