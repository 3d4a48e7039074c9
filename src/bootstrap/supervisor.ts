/**
 * The bootstrap once it is running: owns the kernel resources and the helper, keeps one engine
 * alive, and turns signals into reloads, summaries and a clean exit. Every state change runs
 * through one queue so that a reload, a restart and an exit never interleave.
 */
import type { Logger, LogSink } from '../log/logger.js';
import type { LogLevel } from '../log/levels.js';
import type { SyslogFacility } from '../log/syslog-facility.js';
import { errnoText } from './errno-text.js';
import { logEngineExit, spawnEngine } from './engine-process.js';
import type { EngineExit, EngineProcess, EngineStart } from './engine-process.js';
import { clientHookPath, createClientHook } from './client-hook.js';
import { createHelper } from './helper.js';
import type { Helper, TunnelBaseline } from './helper.js';
import { engineConfigFor, prefixOf, serverOf } from './settings-views.js';
import type { OsApi } from './os-api.js';
import { planReload } from './reload-plan.js';
import type { InPlaceChange } from './reload-plan.js';
import { closeResources, openResources, relayBaseline } from './resources.js';
import type { KernelResources } from './resources.js';
import { loadSettings, poolSizeFor } from './settings.js';
import type { DaemonSettings } from '../config/settings-schema.js';
import type { SettingsSources } from './settings.js';
import type { CommandLineOptions } from './command-line.js';
import { signalDescription, signalNumber } from './signals.js';
import { createClientNameService } from './name-service.js';
import type { NameService } from './name-service.js';
import { logStateSummary } from './state-summary.js';
import type { Announcer } from './announcer.js';
import { createAnnouncer, Drainer, drainSecondsOf } from './relay-announcement.js';
import { MaintenanceSwitch } from './maintenance.js';
import { DEFAULT_TIMING } from './supervisor-timing.js';
import type { SupervisorTiming } from './supervisor-timing.js';

export { DEFAULT_TIMING } from './supervisor-timing.js';
export type { SupervisorTiming } from './supervisor-timing.js';

export interface SupervisorOptions {
  readonly options: CommandLineOptions;
  readonly settings: DaemonSettings;
  readonly resources: KernelResources;
  readonly uid: number;
  readonly gid: number;
  readonly chrootDir: string;
  /** miredo-engine-launch (a bootstrap that is not root), or null. */
  readonly launcher?: string | null;
  /** A relay's data-plane workers when DataplaneWorkers is 0 (one per CPU); see poolSizeFor. */
  readonly poolSize: number;
  readonly logLevel: LogLevel;
  readonly log: Logger;
  readonly sink: LogSink;
  readonly setFacility: (facility: SyslogFacility) => void;
  readonly os: OsApi;
  readonly sources: SettingsSources;
  readonly enginePath: string;
  /** The listening control socket, passed to every engine (control-socket.ts). */
  readonly controlFd?: number;
  readonly timing?: SupervisorTiming;
  /** Miredo's client hook; default /etc/miredo/client-hook or $MIREDO_TS_CLIENT_HOOK (client-hook.ts). */
  readonly clientHookPath?: string;
}

export interface Supervisor {
  /** Starts the first engine; a failure here is a failed daemon start. */
  start(): Promise<EngineStart>;
  reload(signal: NodeJS.Signals): void;
  /** Miredo qualifies again on every HUP, changed file or not (Debian's if-up hook relies on it). */
  requalify(reason: 'reload' | 'network'): void;
  terminate(signal: NodeJS.Signals | null, code?: number): void;
  summary(): Promise<void>;
  readMaintenanceFile(): void;
  /** SIGKILL to every engine still running, now (the last resort when the bootstrap itself fails). */
  killEngine(): void;
  /** Resolves with the exit status once everything is cleaned up. */
  readonly finished: Promise<number>;
}

export function createSupervisor(config: SupervisorOptions): Supervisor {
  return new DaemonSupervisor(config);
}

/**
 * The supervisor's state: what runs now (settings, resources, helper, engine) and what the
 * crash-loop guard remembers. Every change goes through enqueue(), one at a time.
 */
class DaemonSupervisor implements Supervisor {
  readonly finished: Promise<number>;
  private readonly log: Logger;
  private readonly os: OsApi;
  private readonly timing: SupervisorTiming;
  private readonly startedAt = Date.now();
  private settings: DaemonSettings;
  private resources: KernelResources;
  private baseline: TunnelBaseline;
  private helper: Helper;
  private engine: EngineProcess | null = null;
  private running = false;
  private exiting = false;
  private restartTimer: NodeJS.Timeout | null = null;
  private restarts = 0;
  private deaths: number[] = [];
  private readonly stopped = new Set<EngineProcess>();
  private finish: (code: number) => void = () => undefined;
  private chain: Promise<void> = Promise.resolve();
  private readonly names: NameService;
  private announcer: Announcer | null;
  private readonly drainer: Drainer;
  private readonly switch: MaintenanceSwitch;

  constructor(private readonly config: SupervisorOptions) {
    this.log = config.log;
    this.os = config.os;
    this.timing = config.timing ?? DEFAULT_TIMING;
    this.settings = config.settings;
    this.resources = config.resources;
    this.baseline = this.resources.baseline;
    this.helper = this.newHelper();
    this.switch = new MaintenanceSwitch(config.options.pidFile, this.log);
    this.announcer = this.newAnnouncer();
    this.drainer = new Drainer(this.log);
    this.names = createClientNameService(() => this.settings, this.log);
    this.finished = new Promise<number>((resolve) => {
      this.finish = resolve;
    });
  }

  /** Starts the first engine; a failure here is a failed daemon start. */
  start(): Promise<EngineStart> {
    return new Promise((resolve) => {
      this.enqueue(async () => {
        if (this.exiting) {
          resolve({ ok: false, reason: 'terminated during startup' });
          return;
        }
        const start = await this.launch().ready;
        this.running = start.ok;
        resolve(start);
      });
    });
  }

  reload(signal: NodeJS.Signals): void {
    this.enqueue(() => this.reloadNow(signal));
  }

  terminate(signal: NodeJS.Signals | null, code = 0): void {
    if (signal !== null && this.drainer.cutShort(signal)) return;
    if (this.exiting) return;
    this.exiting = true;
    if (this.restartTimer !== null) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    if (signal !== null) {
      this.log.notice('Exiting on signal %d (%s)', signalNumber(signal), signalDescription(signal));
    }
    const drainSeconds = drainSecondsOf(this.settings);
    const finish = (): void => this.enqueue(() => this.cleanupAndFinish(code));
    if (signal !== null && signal !== 'SIGQUIT' && this.announcer !== null && drainSeconds > 0) {
      this.drainer.start(this.announcer, drainSeconds, finish);
    } else finish();
  }

  summary(): Promise<void> {
    const { settings, engine, resources, startedAt, restarts } = this;
    const facts = { role: settings.role, resources, startedAt, restarts, helper: this.helper.stats() };
    return logStateSummary(this.log, facts, engine);
  }

  readMaintenanceFile(): void {
    this.enqueue(async () => this.switch.signalled(this.announcer));
  }

  killEngine(): void {
    this.engine?.kill();
    for (const child of this.stopped) child.kill();
  }

  private enqueue(operation: () => Promise<void>): void {
    this.chain = this.chain.then(operation).catch((error: unknown) => {
      this.log.error(
        'Internal error: %s',
        error instanceof Error ? (error.stack ?? error.message) : String(error),
      );
    });
  }

  private newHelper(): Helper {
    const { settings, resources, log, config } = this;
    return createHelper({
      tunnel: resources.tunnel,
      prefix: prefixOf(settings),
      serverIPv4: serverOf(settings),
      clientHook:
        settings.role === 'client' && resources.tunnel !== null
          ? createClientHook({
              path: config.clientHookPath ?? clientHookPath(),
              ifname: resources.tunnel.name,
              ifindex: resources.tunnel.index,
              log,
            })
          : null,
      baseline: this.baseline,
      tun: this.os,
      log,
    });
  }

  private newAnnouncer(): Announcer | null {
    const { settings, resources, os, log, switch: maintenance } = this;
    return createAnnouncer(settings, resources, os, log, maintenance, (m) => this.engine?.send(m));
  }

  private launch(): EngineProcess {
    const { config, resources, log } = this;
    const { discovery } = resources;
    if (resources.discoveryProblem !== null) {
      log.warning('Local discovery off: %s', resources.discoveryProblem);
    }
    const child = spawnEngine({
      enginePath: config.enginePath,
      launcher: config.launcher ?? null,
      init: {
        config: engineConfigFor(this.settings, resources),
        ...(discovery === null
          ? {}
          : { localLink: { address: discovery.link.address, prefixLength: discovery.link.prefixLength } }),
        interface: resources.tunnel,
        uid: config.uid,
        gid: config.gid,
        chrootDir: config.chrootDir,
        poolSize: resources.tunnel === null ? 1 : resources.tunFds.length,
        logLevel: config.logLevel,
        ...(this.announcer === null ? {} : { healthReports: true }),
      },
      fds: {
        tun: resources.tunFds,
        udp: resources.udpFds,
        raw: resources.rawFd,
        ...(config.controlFd === undefined ? {} : { control: config.controlFd }),
        ...(resources.metricsFd === null ? {} : { metrics: resources.metricsFd }),
        ...(discovery === null ? {} : { discovery: discovery.fd }),
      },
      sink: config.sink,
      log,
      onRequest: (request) => this.helper.handle(request),
      onResolve: (request) => this.names.answer(request),
      onHealth: (message) => this.announcer?.health(message),
      readyTimeoutMs: this.timing.readyTimeoutMs,
    });
    this.engine = child;
    void child.exited.then((exit) => this.onEngineExit(child, exit));
    void child.ready.then((start) => {
      if (start.ok) log.info({ child: child.pid }, 'Engine %d ready', child.pid);
      else log.error({ child: child.pid }, 'Engine %d failed to start: %s', child.pid, start.reason);
    });
    return child;
  }

  private async stopEngine(): Promise<void> {
    const child = this.engine;
    if (child === null) return;
    this.engine = null;
    this.stopped.add(child);
    this.announcer?.engineGone();
    await child.stop(this.timing.stopGraceMs);
    await this.helper.revertEngineChanges();
  }

  private async cleanupAndFinish(code: number): Promise<void> {
    if (this.restartTimer !== null) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    await this.announcer?.stop();
    await this.stopEngine();
    await closeResources(this.resources, this.baseline, this.os, this.log);
    this.log.info(code === 0 ? 'Terminated with no error.' : 'Terminated with error(s).');
    this.finish(code);
  }

  private giveUp(reason: string): void {
    if (this.exiting) return;
    this.exiting = true;
    this.log.critical('%s', reason);
    this.enqueue(() => this.cleanupAndFinish(1));
  }

  private onEngineExit(child: EngineProcess, exit: EngineExit): void {
    if (this.stopped.delete(child)) return;
    logEngineExit(this.log, child.pid, exit);
    if (this.engine === child) this.engine = null;
    this.announcer?.engineGone();
    if (!this.running || this.exiting) return;
    this.enqueue(() => this.afterCrash());
  }

  /** Reverts the dead engine's changes, then restarts it after the back-off, or gives up. */
  private async afterCrash(): Promise<void> {
    const { timing } = this;
    await this.helper.revertEngineChanges();
    const now = Date.now();
    this.deaths = [...this.deaths.filter((at) => now - at < timing.crashWindowMs), now];
    if (this.deaths.length > timing.maxCrashes) {
      this.giveUp(
        `The engine failed ${this.deaths.length} times within ${timing.crashWindowMs / 1000} s; giving up`,
      );
      return;
    }
    if (this.restartTimer !== null) return;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      this.enqueue(async () => {
        if (this.exiting || this.engine !== null) return;
        this.restarts += 1;
        await this.launch().ready;
      });
    }, timing.restartDelayMs);
  }

  private async applyInPlace(next: DaemonSettings, changes: readonly InPlaceChange[]): Promise<void> {
    const tunnel = this.resources.tunnel;
    for (const change of changes) {
      switch (change.kind) {
        case 'mtu':
          if (tunnel !== null) await this.os.setMtu(tunnel.name, change.to);
          this.log.notice('MTU changed from %d to %d', change.from, change.to);
          break;
        case 'syslog-facility':
          this.config.setFacility(change.to as SyslogFacility);
          break;
        case 'drain-time':
          // Read from the settings when a drain starts.
          break;
      }
    }
    this.settings = next;
    if (next.role === 'relay') this.baseline = relayBaseline(next.interfaceMtu, next.prefix);
    this.helper.reconfigure(prefixOf(next), this.baseline);
    this.engine?.send({ type: 'reconfigure', config: engineConfigFor(next, this.resources) });
  }

  private async restartWith(next: DaemonSettings): Promise<void> {
    const { config, os, log } = this;
    const previous = this.settings;
    await this.announcer?.stop();
    await this.stopEngine();
    await closeResources(this.resources, this.baseline, os, log);
    let opened = await openResources(next, poolSizeFor(next, config.poolSize), os);
    if (opened.ok) this.settings = next;
    else {
      log.error('Cannot apply the new configuration: %s', opened.message);
      opened = await openResources(previous, poolSizeFor(previous, config.poolSize), os);
      if (!opened.ok) {
        this.giveUp(`Cannot restore the previous configuration: ${opened.message}`);
        return;
      }
      log.warning('Kept the previous configuration');
    }
    this.resources = opened.resources;
    this.baseline = this.resources.baseline;
    this.helper = this.newHelper();
    this.announcer = this.newAnnouncer();
    config.setFacility(this.settings.syslogFacility);
    this.restarts += 1;
    await this.launch().ready;
  }

  requalify(reason: 'reload' | 'network'): void {
    if (this.settings.role === 'client') this.engine?.send({ type: 'requalify', reason });
  }

  private async reloadNow(signal: NodeJS.Signals): Promise<void> {
    const { log } = this;
    if (this.exiting) return;
    log.notice('Reloading configuration on signal %d (%s)', signalNumber(signal), signalDescription(signal));
    const loaded = await loadSettings(this.config.options, this.config.sources);
    for (const warning of loaded.warnings) log.warning('%s', warning);
    if (!loaded.ok) {
      for (const error of loaded.errors) log.error('%s', error);
      log.error('Configuration not reloaded: the file has errors; keeping the running configuration');
      return;
    }
    if (this.exiting) return;
    const plan = planReload(this.settings, loaded.settings);
    switch (plan.kind) {
      case 'unchanged':
        log.info('Configuration unchanged');
        break;
      case 'in-place':
        try {
          await this.applyInPlace(loaded.settings, plan.changes);
        } catch (error) {
          log.error('Cannot apply the new configuration: %s', errnoText(error));
        }
        break;
      case 'restart':
        log.notice('Restarting the engine (changed: %s)', plan.reasons.join(', '));
        await this.restartWith(loaded.settings);
        return;
    }
    this.requalify('reload');
  }
}
