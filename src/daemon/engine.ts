/**
 * The engine: the unprivileged process that will parse every packet. It receives `init`,
 * starts its logger and its fixed pool of data-plane workers while it can still load files,
 * then jails itself and drops to the configured user, checks that there is no way back, and
 * only then reports `ready`. After that it never loads a module or starts a thread.
 */
import { openSync, closeSync } from 'node:fs';
import { MessageChannel } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { createLogger, stderrSink } from '../log/logger.js';
import type { Logger } from '../log/logger.js';
import { setGroupsEmpty, setNoNewPrivs } from '../os/privileges.js';
import { checkDropped, dropPrivileges } from './drop-privileges.js';
import { closeInheritedDescriptors } from './inherited-fds.js';
import { controlPlaneFactory } from './control-plane.js';
import type { ControlPlane } from './control-plane.js';
import { counterRow, createCounterBlock, sumCounters } from './counters.js';
import type { CheckOperations, DropOperations } from './drop-privileges.js';
import { parseBootstrapToEngine, parseWorkerToEngine } from './ipc.js';
import type {
  DataplaneResult,
  DataplaneTask,
  EngineConfig,
  EngineToBootstrap,
  InitMessage,
  SlowPathMessage,
} from './ipc.js';
import { chroot } from './posix.js';

/** Where the bootstrap puts the IPC channel (engine-process.ts). */
const IPC_FD = 3;
export const WORKER_READY_TIMEOUT_MS = 10_000;
export const WORKER_STOP_TIMEOUT_MS = 500;

export interface EngineEnvironment {
  readonly log: Logger;
  readonly dataplanePath: string;
  readonly send: (message: EngineToBootstrap) => void;
  readonly exit: (code: number) => void;
  readonly drop: DropOperations;
  readonly check: CheckOperations;
  /** Closes inherited descriptors other than `keep`; returns the ones closed. */
  readonly closeInherited: (keep: ReadonlySet<number>) => readonly number[];
}

/** process.setuid and friends exist only on POSIX systems; their absence is an error, never a no-op. */
function posixCall<A extends unknown[], R>(
  fn: ((...args: A) => R) | undefined,
  name: string,
): (...args: A) => R {
  if (fn === undefined)
    return () => {
      throw new Error(`${name} is not available on this platform`);
    };
  return fn;
}

export const SYSTEM_DROP: DropOperations = {
  chroot,
  chdir: (dir) => process.chdir(dir),
  setGroupsEmpty,
  setgid: (gid) => posixCall(process.setgid, 'setgid')(gid),
  setuid: (uid) => posixCall(process.setuid, 'setuid')(uid),
  setNoNewPrivs,
};

export const SYSTEM_CHECK: CheckOperations = {
  getuid: () => process.getuid?.() ?? -1,
  geteuid: () => process.geteuid?.() ?? -1,
  getgid: () => process.getgid?.() ?? -1,
  getegid: () => process.getegid?.() ?? -1,
  getgroups: () => process.getgroups?.() ?? [],
  regainRoot: () => {
    posixCall(process.setuid, 'setuid')(0);
    return true;
  },
  openTunDevice: () => {
    closeSync(openSync('/dev/net/tun', 'r+'));
    return true;
  },
};

interface Worker {
  readonly port: MessagePort;
  readonly done: Promise<DataplaneResult>;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Routes the worker's messages: resolves on its `worker-ready` (or rejects after the timeout),
 * and hands every slow-path packet to `slowPath`.
 */
function listenToWorker(
  port: MessagePort,
  workerIndex: number,
  slowPath: (message: SlowPathMessage) => void,
  invalid: (error: string) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`worker ${workerIndex} not ready in time`)),
      WORKER_READY_TIMEOUT_MS,
    );
    port.on('message', (raw: unknown) => {
      const parsed = parseWorkerToEngine(raw);
      if (!parsed.ok) {
        invalid(parsed.error);
        return;
      }
      const message = parsed.message;
      if (message.type === 'slow-path') slowPath(message);
      else if (message.workerIndex === workerIndex) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

export interface Engine {
  /** Feed every IPC message from the bootstrap here. */
  handle(raw: unknown): void;
  /** The bootstrap's channel closed. */
  disconnected(): void;
}

export function createEngine(env: EngineEnvironment): Engine {
  const { log } = env;
  const startedAt = Date.now();
  let init: InitMessage | null = null;
  let config: EngineConfig | null = null;
  let pool: Piscina | null = null;
  const workers: Worker[] = [];
  let stopping = false;
  let control: ControlPlane | null = null;
  let counters: { readonly block: SharedArrayBuffer; readonly names: readonly string[] } | null = null;
  const counterTotals = (): Record<string, number> =>
    counters === null ? {} : sumCounters(counters.block, counters.names);

  const fatal = (text: string): void => {
    if (stopping) return;
    stopping = true;
    log.alert(text);
    log.info('Terminated with error(s).');
    void pool?.destroy().catch(() => undefined);
    env.exit(1);
  };

  const shutdown = async (code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await control
      ?.stop()
      .catch((error: unknown) => log.error('Control plane stop failed: %s', errorText(error)));
    for (const worker of workers) worker.port.postMessage({ type: 'worker-stop' });
    const timeout = new Promise<'timeout'>((resolve) =>
      setTimeout(() => resolve('timeout'), WORKER_STOP_TIMEOUT_MS).unref(),
    );
    await Promise.race([Promise.allSettled(workers.map((worker) => worker.done)), timeout]);
    await pool?.destroy().catch(() => undefined);
    if (counters !== null) log.notice({ counters: counterTotals() }, 'Final counters');
    log.info(code === 0 ? 'Terminated with no error.' : 'Terminated with error(s).');
    env.exit(code);
  };

  const start = async (message: InitMessage): Promise<void> => {
    log.level = message.logLevel;
    log.info({ role: message.config.role, workers: message.poolSize }, 'Starting...');
    // Only stdio, the IPC channel and the descriptors in `init` may cross from the bootstrap.
    const keep = new Set([
      IPC_FD,
      ...message.fds.tun,
      ...message.fds.udp,
      ...(message.fds.raw === null ? [] : [message.fds.raw]),
    ]);
    const closed = env.closeInherited(keep);
    if (closed.length > 0)
      log.warning({ fds: closed }, 'Closed %d unexpected inherited descriptor(s)', closed.length);
    // no_new_privs is per thread and inherited only by threads created afterwards: set it now so
    // that every worker has it (the drop below sets it again, in its place in the sequence).
    env.drop.setNoNewPrivs();
    const factory = controlPlaneFactory(message.config);
    // One counter row per worker, plus the last one for the control plane.
    const block = createCounterBlock(factory.counterNames, message.poolSize + 1);
    counters = { block, names: factory.counterNames };
    const controlPlane = factory.create({
      log,
      init: message,
      send: env.send,
      fatal,
      counters: counterRow(block, factory.counterNames, message.poolSize),
    });
    control = controlPlane;
    pool = new Piscina({
      filename: env.dataplanePath,
      minThreads: message.poolSize,
      maxThreads: message.poolSize,
      idleTimeout: Infinity,
      concurrentTasksPerWorker: 1,
    });
    pool.on('error', (error: unknown) => fatal(`Data-plane pool failure: ${errorText(error)}`));
    const readiness: Promise<void>[] = [];
    for (let workerIndex = 0; workerIndex < message.poolSize; workerIndex += 1) {
      const { port1, port2 } = new MessageChannel();
      const server = message.config.role === 'server';
      const udpFd = message.fds.udp[workerIndex];
      const task: DataplaneTask = {
        workerIndex,
        config: message.config,
        tunFd: message.fds.tun[workerIndex] ?? null,
        // The server's single worker serves both of its sockets.
        udpFds: server ? [...message.fds.udp] : udpFd === undefined ? [] : [udpFd],
        rawFd: message.fds.raw,
        counters: block,
        shared: factory.shared,
        port: port2,
      };
      readiness.push(
        listenToWorker(
          port1,
          workerIndex,
          (slow) => controlPlane.slowPath(slow),
          (error) => log.warning('Invalid message from data-plane worker %d: %s', workerIndex, error),
        ),
      );
      const done = pool.run(task, { transferList: [port2] }) as Promise<DataplaneResult>;
      done.then(
        () => {
          if (!stopping) fatal(`Data-plane worker ${workerIndex} stopped unexpectedly`);
        },
        (error: unknown) => fatal(`Data-plane worker ${workerIndex} failed: ${errorText(error)}`),
      );
      workers.push({ port: port1, done });
    }
    await Promise.all(readiness);

    const target = { uid: message.uid, gid: message.gid, chrootDir: message.chrootDir };
    const dropped = dropPrivileges(target, env.drop);
    if (!dropped.ok) {
      fatal(`Miredo setup failure: cannot drop privileges: ${dropped.step}: ${dropped.error}`);
      return;
    }
    const checked = checkDropped(target, env.check);
    if (!checked.ok) {
      fatal(`Miredo setup failure: privileges not dropped: ${checked.failures.join('; ')}`);
      return;
    }
    log.info({ uid: message.uid, gid: message.gid, chroot: message.chrootDir }, 'Privileges dropped');
    controlPlane.start();
    env.send({ type: 'ready', pid: process.pid, workers: message.poolSize });
  };

  return {
    handle(raw: unknown): void {
      const parsed = parseBootstrapToEngine(raw);
      if (!parsed.ok) {
        log.warning('Invalid message from the bootstrap: %s', parsed.error);
        return;
      }
      const message = parsed.message;
      switch (message.type) {
        case 'init':
          if (init !== null) {
            log.warning('Ignoring a second init message');
            return;
          }
          init = message;
          config = message.config;
          start(message).catch((error: unknown) => fatal(`Miredo setup failure: ${errorText(error)}`));
          return;
        case 'stop':
          void shutdown(0);
          return;
        case 'summary': {
          const usage = process.resourceUsage();
          env.send({
            type: 'summary-report',
            id: message.id,
            summary: {
              role: config?.role ?? 'client',
              pid: process.pid,
              uptimeSeconds: (Date.now() - startedAt) / 1000,
              workers: workers.length,
              uid: process.getuid?.() ?? 0,
              gid: process.getgid?.() ?? 0,
              maxRssBytes: usage.maxRSS * 1024,
              counters: counterTotals(),
            },
          });
          return;
        }
        case 'reconfigure':
          if (config === null || message.config.role !== config.role) {
            log.warning('Ignoring a reconfiguration for another mode');
            return;
          }
          config = message.config;
          control?.reconfigure(message.config);
          log.info('Configuration updated');
          return;
        case 'reply':
          if (control === null) log.debug({ id: message.id }, 'Unexpected helper reply');
          else control.reply(message);
          return;
      }
    },
    disconnected(): void {
      if (stopping) return;
      log.critical('Lost the channel to the bootstrap; exiting');
      void shutdown(1);
    },
  };
}

/** Wires the engine to this process: stderr logging, the IPC channel, exit. */
export function runEngineProcess(dataplanePath: string): void {
  const log = createLogger({ name: 'miredo-engine', sink: stderrSink() });
  const engine = createEngine({
    log,
    dataplanePath,
    send: (message) => {
      if (process.connected) process.send?.(message);
    },
    exit: (code) => process.exit(code),
    drop: SYSTEM_DROP,
    check: SYSTEM_CHECK,
    closeInherited: closeInheritedDescriptors,
  });
  process.on('uncaughtException', (error) => {
    log.critical('Uncaught exception: %s', error.stack ?? error.message);
    process.exit(1);
  });
  process.on('message', (raw: unknown) => engine.handle(raw));
  process.on('disconnect', () => engine.disconnected());
  // The bootstrap manages us by IPC: a terminal's SIGINT/SIGQUIT (sent to the whole foreground
  // process group) or a stray signal must not kill us. A SIGUSR1 listener also keeps Node from
  // opening its inspector, which it does on SIGUSR1 when nothing listens.
  for (const signal of ['SIGINT', 'SIGQUIT', 'SIGHUP', 'SIGUSR1', 'SIGUSR2'] as const) {
    process.on(signal, () => log.debug('Ignoring %s', signal));
  }
}
