/**
 * Starting a Teredo server in the flood lab's server namespace, ours (bin/miredo-server) or
 * Debian's (/usr/sbin/miredo-server), with the same configuration file, in the foreground
 * (-f), as `nobody`, and reading what the flood needs from it: the worker ("engine") process,
 * its resident memory, and (ours) the counters of a SIGUSR1 summary.
 */
import type { SpawnOptions } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DaemonRun, pollUntil, processGone } from '../../test/integration/daemon/daemon-tools.js';
import type { Netns } from '../../test/support/netns.js';
import { childPids } from './proc-stat.js';
import type { ProbeResult } from './rs-probe.js';
import { FLOOD_ADDRESSES } from './topology.js';
import { OWN_SESSION, probeServer } from './tools.js';

export { childPids, vmRssBytes } from './proc-stat.js';

export type ServerImpl = 'ours' | 'debian';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const DEBIAN_SERVER_BIN = '/usr/sbin/miredo-server';
export const OUR_SERVER_BIN = join(REPO_ROOT, 'bin', 'miredo-server');

export interface ServerLaunch {
  readonly impl: ServerImpl;
  /** A private directory for the configuration and pid files. */
  readonly workDir: string;
  /** Our RSRateLimit directive (RS answered per second per source IPv4; 0 = off); ours only. */
  readonly rsRateLimit?: number;
}

export interface RunningServer {
  readonly impl: ServerImpl;
  readonly run: DaemonRun;
  /** The process we started (ours: the bootstrap; Debian's: its supervisor). */
  readonly pid: number;
  /**
   * Waits until the server answers an RS from `client` (resent every 250 ms), like a real
   * client's first step; fails at once if the server exits first (a startup error).
   */
  answering(client: Netns, timeoutMs: number): Promise<ProbeResult>;
  /** Its only child, which does the packet work (ours: the engine; Debian's: the server worker). */
  workerPid(timeoutMs: number): Promise<number>;
  /** Ours: sends SIGUSR1 and returns the counters of the 'Engine summary' log line. */
  summaryCounters(timeoutMs: number): Promise<Readonly<Record<string, number>>>;
  /** SIGTERM, then SIGKILL if it is still running after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<void>;
}

export function serverConfig(launch: ServerLaunch): string {
  const lines = [`ServerBindAddress ${FLOOD_ADDRESSES.serverPrimary}`];
  if (launch.rsRateLimit !== undefined) {
    if (launch.impl !== 'ours') throw new Error('RSRateLimit is our extension; Debian refuses it');
    lines.push(`RSRateLimit ${launch.rsRateLimit}`);
  }
  return `${lines.join('\n')}\n`;
}

export function startServer(ns: Netns, launch: ServerLaunch): RunningServer {
  const conf = join(launch.workDir, `${launch.impl}-server.conf`);
  const pidFile = join(launch.workDir, `${launch.impl}-server.pid`);
  writeFileSync(conf, serverConfig(launch));
  const args = ['-f', '-c', conf, '-p', pidFile, '-u', 'nobody'];
  const options: SpawnOptions = { stdio: ['ignore', 'ignore', 'pipe'], detached: OWN_SESSION };
  const child =
    launch.impl === 'ours'
      ? ns.spawn(process.execPath, [OUR_SERVER_BIN, ...args], options)
      : ns.spawn(DEBIAN_SERVER_BIN, args, options);
  const run = new DaemonRun(child);
  const pid = run.pid;

  return {
    impl: launch.impl,
    run,
    pid,
    async answering(client, timeoutMs) {
      const exited = run.exited.then(({ code, signal }) => {
        throw new Error(
          `${launch.impl} server exited (${signal ?? code}) before answering:\n${run.rawStderr.join('\n')}`,
        );
      });
      exited.catch(() => undefined); // Only a failure while we wait matters.
      const probe = await Promise.race([
        probeServer(client, FLOOD_ADDRESSES.serverPrimary, timeoutMs),
        exited,
      ]);
      if (!probe.ok) throw new Error(`${launch.impl} server never answered:\n${run.rawStderr.join('\n')}`);
      return probe;
    },
    workerPid: (timeoutMs) =>
      pollUntil(
        () => {
          const children = childPids(pid);
          return children.length === 1 ? children[0] : undefined;
        },
        timeoutMs,
        `the only child of ${launch.impl} server ${pid}`,
      ),
    async summaryCounters(timeoutMs) {
      if (launch.impl !== 'ours') throw new Error("Debian's server has no counter summary");
      const from = run.lines.length;
      process.kill(pid, 'SIGUSR1');
      const line = await run.waitForLog((l) => l['msg'] === 'Engine summary', timeoutMs, from);
      const counters = line['counters'];
      if (typeof counters !== 'object' || counters === null) throw new Error('summary without counters');
      return counters as Record<string, number>;
    },
    async stop(timeoutMs = 5000) {
      if (processGone(pid)) return;
      child.kill('SIGTERM');
      const stopped = await Promise.race([
        run.exited.then(() => true),
        new Promise<false>((resolve) => setTimeout(() => resolve(false), timeoutMs).unref()),
      ]);
      if (!stopped) {
        child.kill('SIGKILL');
        await run.exited;
      }
    },
  };
}
