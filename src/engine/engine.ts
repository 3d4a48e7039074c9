/**
 * The engine: the unprivileged process that will parse every packet. It receives `init`,
 * starts its logger and its fixed set of data-plane workers while it can still load files (the
 * workers load from memory and allocate but read nothing), then jails itself and drops to the
 * configured user, checks that there is no way back, and only then lets the workers read (each
 * once loaded) and the control plane start, and reports `ready`. After that it loads nothing from disk: a data-plane worker
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
import { CHANNEL_FD, FAULT_INJECTION_ENV, injectedFault } from '../ipc/engine-launch.js';
import type { InjectedFault } from '../ipc/engine-launch.js';
import { parseBootstrapToEngine } from '../ipc/bootstrap-engine-messages.js';
import type { EngineConfig } from '../ipc/engine-config.js';
import type {
  AnnouncementMessage,
  EngineSummary,
  EngineToBootstrap,
  InitMessage,
} from '../ipc/bootstrap-engine-messages.js';
import type { DataplaneProgram, DataplaneThread } from './dataplane-program.js';
import { createWorkerPool } from './worker-pool.js';
import { dataplaneTasks, keptDescriptors } from './init-descriptors.js';
import { startHealthMonitor } from './health-monitor.js';
import type { HealthMonitor } from './health-monitor.js';
import { createControlAnswer, renderMetrics } from './control-queries.js';
import type { ControlSources } from './control-queries.js';
import { serveControlSocket } from './control-server.js';
import type { Listening } from './control-server.js';
import { serveMetrics } from './metrics-server.js';
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
  /** What injectFault does to the worker (FAULT_INJECTION_ENV's value); default crash. */
  readonly injectedFault?: InjectedFault;
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
  return new EngineInstance(env);
}

class EngineInstance implements Engine {
  private readonly log: Logger;
  private readonly startedAt = Date.now();
  private init: InitMessage | null = null;
  private config: EngineConfig | null = null;
  private pool: WorkerPool | null = null;
  private stopping = false;
  private control: ControlPlane | null = null;
  private counters: { readonly block: SharedArrayBuffer; readonly names: readonly string[] } | null = null;
  private listening: Listening[] = [];
  private health: HealthMonitor | null = null;
  private announcement: AnnouncementMessage | null = null; // a relay's AnnounceTable state, as told

  constructor(private readonly env: EngineEnvironment) {
    this.log = env.log;
  }

  handle(raw: unknown): void {
    const parsed = parseBootstrapToEngine(raw);
    if (!parsed.ok) {
      this.log.warning('Invalid message from the bootstrap: %s', parsed.error);
      return;
    }
    const message = parsed.message;
    switch (message.type) {
      case 'init':
        if (this.init !== null) {
          this.log.warning('Ignoring a second init message');
          return;
        }
        this.init = message;
        this.config = message.config;
        this.start(message).catch((error: unknown) =>
          this.fatal(`Miredo setup failure: ${errorText(error)}`),
        );
        return;
      case 'stop':
        void this.shutdown(0);
        return;
      case 'summary':
        this.env.send({ type: 'summary-report', id: message.id, summary: this.summary() });
        return;
      case 'reconfigure':
        if (this.config === null || message.config.role !== this.config.role) {
          this.log.warning('Ignoring a reconfiguration for another mode');
          return;
        }
        this.config = message.config;
        this.control?.reconfigure(message.config);
        this.log.info('Configuration updated');
        return;
      case 'resolved':
        this.control?.resolved?.(message);
        return;
      case 'announcement':
        this.announcement = message;
        return;
      case 'requalify':
        this.control?.requalify?.(message.reason);
        return;
      case 'reply':
        if (this.control === null) this.log.debug({ id: message.id }, 'Unexpected helper reply');
        else this.control.reply(message);
        return;
    }
  }

  disconnected(): void {
    if (this.stopping) return;
    this.log.critical('Lost the channel to the bootstrap; exiting');
    void this.shutdown(1);
  }

  injectFault(workerIndex: number): boolean {
    if (this.env.faultInjection !== true || this.pool === null || this.stopping) return false;
    const fault = this.env.injectedFault ?? 'crash';
    this.log.warning(
      { worker: workerIndex, fault },
      'Fault injection: %s data-plane worker %d',
      fault,
      workerIndex,
    );
    return this.pool.post(workerIndex, { type: 'worker-fault', fault });
  }

  /** The workers' and the control plane's counters, and the engine's own worker failures. */
  private counterTotals(): Record<string, number> {
    if (this.counters === null) return {};
    const workers = this.pool?.stats() ?? { failed: 0, replaced: 0 };
    return {
      ...sumCounters(this.counters.block, this.counters.names),
      'worker-failed': workers.failed,
      'worker-replaced': workers.replaced,
    };
  }

  private summary(): EngineSummary {
    return {
      role: this.config?.role ?? 'client',
      pid: process.pid,
      uptimeSeconds: (Date.now() - this.startedAt) / 1000,
      workers: this.init?.poolSize ?? 0,
      uid: process.getuid?.() ?? 0,
      gid: process.getgid?.() ?? 0,
      maxRssBytes: process.resourceUsage().maxRSS * 1024,
      counters: this.counterTotals(),
      ...this.control?.state?.(),
    };
  }

  private fatal(text: string): void {
    if (this.stopping) return;
    this.stopping = true;
    this.log.alert(text);
    this.log.info('Terminated with error(s).');
    this.health?.stop();
    this.pool?.destroy();
    this.env.exit(1);
  }

  private async shutdown(code: number): Promise<void> {
    const { log } = this;
    if (this.stopping) return;
    this.stopping = true;
    for (const listener of this.listening) listener.close();
    this.health?.stop();
    await this.control
      ?.stop()
      .catch((error: unknown) => log.error('Control plane stop failed: %s', errorText(error)));
    await this.pool?.stop(WORKER_STOP_TIMEOUT_MS);
    if (this.counters !== null) log.notice({ counters: this.counterTotals() }, 'Final counters');
    log.info(code === 0 ? 'Terminated with no error.' : 'Terminated with error(s).');
    this.env.exit(code);
  }

  /**
   * Everything the engine needs, loaded and allocated while it may still read files: the control
   * plane, then the workers' threads (they run the program held in memory and load nothing from
   * disk); then the drop, without waiting for the threads to be ready: they get `worker-start`
   * now and read once they are loaded and have checked the jail for themselves. So the first
   * solicitation leaves while the threads are still loading, and its answer waits in the kernel
   * for the first of them. `ready` goes to the bootstrap once every thread is loaded; a thread
   * that ends before that still ends the engine.
   */
  private async start(message: InitMessage): Promise<void> {
    const { log, env } = this;
    log.level = message.logLevel;
    log.info({ role: message.config.role, workers: message.poolSize }, 'Starting...');
    const closed = env.closeInherited(keptDescriptors(message));
    if (closed.length > 0)
      log.warning({ fds: closed }, 'Closed %d unexpected inherited descriptor(s)', closed.length);
    // no_new_privs is per thread and inherited only by threads created afterwards: set it now so
    // that every worker has it (the drop below sets it again, in its place in the sequence).
    env.drop.setNoNewPrivs();
    const factory =
      message.config.role === 'server' ? SERVER_CONTROL_FACTORY : createTunnelControl(message.config);
    // One counter row per worker, plus the last one for the control plane.
    const block = createCounterBlock(factory.counterNames, message.poolSize + 1);
    this.counters = { block, names: factory.counterNames };
    const fatal = (text: string): void => this.fatal(text);
    const controlPlane = factory.create({
      log,
      init: message,
      send: env.send,
      fatal,
      counters: counterRow(block, factory.counterNames, message.poolSize),
    });
    this.control = controlPlane;
    // Taken before the chroot: each worker compares its root directory with it before it reads.
    const jail = env.drop.identify(message.chrootDir);
    const heartbeat =
      message.healthReports === true
        ? new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT * message.poolSize)
        : undefined;
    const workers = createWorkerPool({
      log,
      program: env.program,
      tasks: dataplaneTasks(message, block, factory.shared, jail, heartbeat),
      slowPath: (slow) => controlPlane.slowPath(slow),
      fatal,
      early: env.early ?? null,
      ...(env.replacementPolicy === undefined ? {} : { policy: env.replacementPolicy }),
    });
    this.pool = workers;
    if (!this.dropPrivileges(message)) return;
    // Only now may any thread read a byte from the network (the workers check it themselves).
    workers.start();
    if (env.faultInjection === true)
      log.warning(
        'Fault injection is on (tests only): SIGUSR2 %s data-plane worker %d',
        env.injectedFault === 'wedge' ? 'wedges' : 'crashes',
        FAULT_INJECTION_WORKER,
      );
    controlPlane.start();
    this.health =
      heartbeat === undefined
        ? null
        : startHealthMonitor({
            heartbeat,
            workers: message.poolSize,
            send: env.send,
            changed: (stalled) => {
              if (stalled.length === 0) log.notice('Every data-plane worker is alive again');
              else log.error({ workers: stalled }, 'Data-plane worker(s) %s stalled', stalled.join(', '));
            },
          });
    this.serveListeners(message, controlPlane);
    // A thread that ends before it is ready rejects this, which ends the engine (see above).
    await workers.ready;
    env.send({ type: 'ready', pid: process.pid, workers: message.poolSize });
  }

  /** The control socket and the metrics listener, when the bootstrap passed them: read-only views. */
  private serveListeners(message: InitMessage, control: ControlPlane): void {
    const sources: ControlSources = {
      summary: () => this.summary(),
      control,
      interfaceName: message.interface?.name ?? null,
      announcement: () => this.announcement,
    };
    const { control: controlFd, metrics: metricsFd } = message.fds;
    if (controlFd !== undefined)
      this.listening.push(serveControlSocket(controlFd, createControlAnswer(sources), this.log));
    if (metricsFd !== undefined)
      this.listening.push(serveMetrics(metricsFd, () => Promise.resolve(renderMetrics(sources)), this.log));
  }

  /** The drop and the checks that it worked; false (the engine ends) when either fails. */
  private dropPrivileges(message: InitMessage): boolean {
    const target = {
      uid: message.uid,
      gid: message.gid,
      chrootDir: message.chrootDir,
      jailer: message.fds.jailer ?? null,
    };
    const dropped = dropPrivileges(target, this.env.drop);
    if (!dropped.ok) {
      this.fatal(`Miredo setup failure: cannot drop privileges: ${dropped.step}: ${dropped.error}`);
      return false;
    }
    const checked = checkDropped(target, this.env.check);
    if (!checked.ok) {
      this.fatal(`Miredo setup failure: privileges not dropped: ${checked.failures.join('; ')}`);
      return false;
    }
    this.log.info({ uid: message.uid, gid: message.gid, chroot: message.chrootDir }, 'Privileges dropped');
    return true;
  }
}

/** Wires the engine to this process: stderr logging, the IPC channel, exit. */
export function runEngineProcess(program: DataplaneProgram, early: readonly DataplaneThread[] = []): void {
  const log = createLogger({ name: ENGINE_LOG_NAME, sink: stderrSink() });
  // Only root can set it: the bootstrap passes it on from its own environment (engine-process.ts).
  const fault = injectedFault(process.env[FAULT_INJECTION_ENV]);
  const faultInjection = fault !== null;
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
    ...(fault === null ? {} : { injectedFault: fault }),
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
