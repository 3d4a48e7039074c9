/**
 * The engine: the unprivileged process that will parse every packet. It receives `init`,
 * starts its logger and its fixed set of data-plane workers while it can still load files (the
 * workers load and allocate but read nothing), then jails itself and drops to the configured
 * user, checks that there is no way back, and only then lets the workers read and the control
 * plane start, and reports `ready`. After that it loads nothing from disk: a data-plane worker
 * thread that dies is replaced from the program held in memory (worker-pool.ts,
 * dataplane-program.ts).
 */
import { Socket } from 'node:net';
import { ENGINE_LOG_NAME } from '../log/engine-line.js';
import { createLogger, stderrSink } from '../log/logger.js';
import type { Logger } from '../log/logger.js';
import { checkDropped, dropPrivileges, SYSTEM_CHECK, SYSTEM_DROP } from './drop-privileges.js';
import { closeInheritedDescriptors } from '../os/inherited-fds.js';
import type { ControlPlane } from './control-plane.js';
import { SERVER_CONTROL_FACTORY } from './server-control.js';
import { createTunnelControl } from './tunnel-control.js';
import { counterRow, createCounterBlock, sumCounters } from '../ipc/counters.js';
import type { CheckOperations, DropOperations } from './drop-privileges.js';
import { openFrameChannel } from '../ipc/channel.js';
import type { FrameChannel } from '../ipc/channel.js';
import { describeFrameViolation } from '../ipc/frames.js';
import { CHANNEL_FD, FAULT_INJECTION_ENV } from '../ipc/engine-launch.js';
import { parseBootstrapToEngine } from '../ipc/bootstrap-engine-messages.js';
import type { DataplaneTask } from '../ipc/engine-worker-messages.js';
import type { EngineConfig } from '../ipc/engine-config.js';
import type { EngineToBootstrap, InitMessage } from '../ipc/bootstrap-engine-messages.js';
import type { DataplaneProgram, DataplaneThread } from './dataplane-program.js';
import { createWorkerPool } from './worker-pool.js';
import type { ReplacementPolicy, WorkerPool } from './worker-pool.js';

export const WORKER_STOP_TIMEOUT_MS = 500;
/** The worker whose packet loop SIGUSR2 crashes when fault injection is on. */
export const FAULT_INJECTION_WORKER = 0;

export interface EngineEnvironment {
  readonly log: Logger;
  /** Where the data-plane threads come from (loaded before the chroot: dataplane-program.ts). */
  readonly program: DataplaneProgram;
  readonly send: (message: EngineToBootstrap) => void;
  readonly exit: (code: number) => void;
  readonly drop: DropOperations;
  readonly check: CheckOperations;
  /** Closes inherited descriptors other than `keep`; returns the ones closed. */
  readonly closeInherited: (keep: ReadonlySet<number>) => readonly number[];
  readonly replacementPolicy?: ReplacementPolicy;
  /** Tests only: root started the daemon with FAULT_INJECTION_ENV=1 (injectFault works). */
  readonly faultInjection?: boolean;
  /** The worker threads main.ts started before loading the engine (early-threads.ts). */
  readonly early?: readonly DataplaneThread[] | null;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export interface Engine {
  /** Feed every IPC message from the bootstrap here. */
  handle(raw: unknown): void;
  /** The bootstrap's channel closed. */
  disconnected(): void;
  /** Tests only: makes worker `workerIndex` throw from its packet loop; false when fault injection is off. */
  injectFault(workerIndex: number): boolean;
}

export function createEngine(env: EngineEnvironment): Engine {
  const { log } = env;
  const startedAt = Date.now();
  let init: InitMessage | null = null;
  let config: EngineConfig | null = null;
  let pool: WorkerPool | null = null;
  let stopping = false;
  let control: ControlPlane | null = null;
  let counters: { readonly block: SharedArrayBuffer; readonly names: readonly string[] } | null = null;
  /** The workers' and the control plane's counters, and the engine's own worker failures. */
  const counterTotals = (): Record<string, number> => {
    if (counters === null) return {};
    const workers = pool?.stats() ?? { failed: 0, replaced: 0 };
    return {
      ...sumCounters(counters.block, counters.names),
      'worker-failed': workers.failed,
      'worker-replaced': workers.replaced,
    };
  };

  const fatal = (text: string): void => {
    if (stopping) return;
    stopping = true;
    log.alert(text);
    log.info('Terminated with error(s).');
    pool?.destroy();
    env.exit(1);
  };

  const shutdown = async (code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await control
      ?.stop()
      .catch((error: unknown) => log.error('Control plane stop failed: %s', errorText(error)));
    await pool?.stop(WORKER_STOP_TIMEOUT_MS);
    if (counters !== null) log.notice({ counters: counterTotals() }, 'Final counters');
    log.info(code === 0 ? 'Terminated with no error.' : 'Terminated with error(s).');
    env.exit(code);
  };

  const start = async (message: InitMessage): Promise<void> => {
    log.level = message.logLevel;
    log.info({ role: message.config.role, workers: message.poolSize }, 'Starting...');
    // Only stdio, the IPC channel and the descriptors in `init` may cross from the bootstrap.
    const keep = new Set([
      CHANNEL_FD,
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
    const factory =
      message.config.role === 'server' ? SERVER_CONTROL_FACTORY : createTunnelControl(message.config);
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
    const server = message.config.role === 'server';
    // Taken before the chroot: each worker compares its root directory with it before it reads.
    const jail = env.drop.identify(message.chrootDir);
    const tasks: DataplaneTask[] = Array.from({ length: message.poolSize }, (_, workerIndex) => {
      const udpFd = message.fds.udp[workerIndex];
      return {
        workerIndex,
        config: message.config,
        tunFd: message.fds.tun[workerIndex] ?? null,
        // The server's single worker serves both of its sockets.
        udpFds: server ? [...message.fds.udp] : udpFd === undefined ? [] : [udpFd],
        rawFd: message.fds.raw,
        counters: block,
        shared: factory.shared,
        jail,
      };
    });
    const workers = createWorkerPool({
      log,
      program: env.program,
      tasks,
      slowPath: (slow) => controlPlane.slowPath(slow),
      fatal,
      early: env.early ?? null,
      ...(env.replacementPolicy === undefined ? {} : { policy: env.replacementPolicy }),
    });
    pool = workers;
    await workers.ready;

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
    // Only now may any thread read a byte from the network (the workers check it themselves).
    workers.start();
    if (env.faultInjection === true)
      log.warning(
        'Fault injection is on (tests only): SIGUSR2 crashes data-plane worker %d',
        FAULT_INJECTION_WORKER,
      );
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
              workers: init?.poolSize ?? 0,
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
    injectFault(workerIndex: number): boolean {
      if (env.faultInjection !== true || pool === null || stopping) return false;
      log.warning({ worker: workerIndex }, 'Fault injection: crashing data-plane worker %d', workerIndex);
      return pool.post(workerIndex, { type: 'worker-fault' });
    },
  };
}

/** Wires the engine to this process: stderr logging, the IPC channel, exit. */
export function runEngineProcess(program: DataplaneProgram, early: readonly DataplaneThread[] = []): void {
  const log = createLogger({ name: ENGINE_LOG_NAME, sink: stderrSink() });
  // Only root can set it: the bootstrap passes it on from its own environment (engine-process.ts).
  const faultInjection = process.env[FAULT_INJECTION_ENV] === '1';
  let toBootstrap: FrameChannel | null = null;
  const engine = createEngine({
    log,
    program,
    send: (message) => toBootstrap?.send(message),
    exit: (code) => process.exit(code),
    drop: SYSTEM_DROP,
    check: SYSTEM_CHECK,
    closeInherited: closeInheritedDescriptors,
    faultInjection,
    early,
  });
  process.on('uncaughtException', (error) => {
    log.critical('Uncaught exception: %s', error.stack ?? error.message);
    process.exit(1);
  });
  // The channel's end the bootstrap put at CHANNEL_FD: a socket, framed by src/ipc/frames.ts.
  toBootstrap = openFrameChannel(new Socket({ fd: CHANNEL_FD, readable: true, writable: true }), {
    message: (raw) => engine.handle(raw),
    violation: (violation) => {
      log.critical('Invalid frame from the bootstrap: %s', describeFrameViolation(violation));
      engine.disconnected();
    },
    closed: () => engine.disconnected(),
  });
  // The bootstrap manages us by IPC: a terminal's SIGINT/SIGQUIT (sent to the whole foreground
  // process group) or a stray signal must not kill us. A SIGUSR1 listener also keeps Node from
  // opening its inspector, which it does on SIGUSR1 when nothing listens.
  for (const signal of ['SIGINT', 'SIGQUIT', 'SIGHUP', 'SIGUSR1', 'SIGUSR2'] as const) {
    process.on(signal, () => {
      if (signal === 'SIGUSR2' && engine.injectFault(FAULT_INJECTION_WORKER)) return;
      log.debug('Ignoring %s', signal);
    });
  }
}
