/**
 * The bootstrap once it is running: owns the kernel resources and the helper, keeps one engine
 * alive, and turns signals into reloads, summaries and a clean exit. Every state change runs
 * through one queue so that a reload, a restart and an exit never interleave.
 */
import type { Logger, LogSink } from '../log/logger.js';
import type { LogLevel } from '../log/levels.js';
import type { SyslogFacility } from '../log/syslog-facility.js';
import { errnoText } from './errno-text.js';
import { spawnEngine } from './engine-process.js';
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

export interface SupervisorTiming {
  /** Back-off before restarting an engine that died. */
  readonly restartDelayMs: number;
  /** Between `stop` and SIGKILL. */
  readonly stopGraceMs: number;
  /** More than maxCrashes engine deaths within crashWindowMs: give up. */
  readonly crashWindowMs: number;
  readonly maxCrashes: number;
  readonly readyTimeoutMs: number;
}

export const DEFAULT_TIMING: SupervisorTiming = {
  restartDelayMs: 1000,
  stopGraceMs: 1000,
  crashWindowMs: 60_000,
  maxCrashes: 5,
  readyTimeoutMs: 10_000,
};

export interface SupervisorOptions {
  readonly options: CommandLineOptions;
  readonly settings: DaemonSettings;
  readonly resources: KernelResources;
  readonly uid: number;
  readonly gid: number;
  readonly chrootDir: string;
  /** Data-plane workers when DataplaneWorkers is 0 (one per CPU); see poolSizeFor. */
  readonly poolSize: number;
  readonly logLevel: LogLevel;
  readonly log: Logger;
  readonly sink: LogSink;
  readonly setFacility: (facility: SyslogFacility) => void;
  readonly os: OsApi;
  readonly sources: SettingsSources;
  readonly enginePath: string;
  readonly timing?: SupervisorTiming;
  /** Miredo's client hook; default /etc/miredo/client-hook or $MIREDO_TS_CLIENT_HOOK (client-hook.ts). */
  readonly clientHookPath?: string;
}

export interface Supervisor {
  /** Starts the first engine; a failure here is a failed daemon start. */
  start(): Promise<EngineStart>;
  reload(signal: NodeJS.Signals): void;
  terminate(signal: NodeJS.Signals | null, code?: number): void;
  summary(): Promise<void>;
  /** SIGKILL to every engine still running, now (the last resort when the bootstrap itself fails). */
  killEngine(): void;
  /** Resolves with the exit status once everything is cleaned up. */
  readonly finished: Promise<number>;
}

export function createSupervisor(config: SupervisorOptions): Supervisor {
  const { log, os } = config;
  const timing = config.timing ?? DEFAULT_TIMING;
  const startedAt = Date.now();
  let settings = config.settings;
  let resources = config.resources;
  let baseline: TunnelBaseline = resources.baseline;
  const newHelper = (): Helper =>
    createHelper({
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
      baseline,
      tun: os,
      log,
    });
  let helper = newHelper();
  let engine: EngineProcess | null = null;
  let running = false;
  let exiting = false;
  let restartTimer: NodeJS.Timeout | null = null;
  let restarts = 0;
  let deaths: number[] = [];
  const stopped = new Set<EngineProcess>();

  let finish: (code: number) => void = () => undefined;
  const finished = new Promise<number>((resolve) => {
    finish = resolve;
  });

  let chain: Promise<void> = Promise.resolve();
  const enqueue = (operation: () => Promise<void>): void => {
    chain = chain.then(operation).catch((error: unknown) => {
      log.error(
        'Internal error: %s',
        error instanceof Error ? (error.stack ?? error.message) : String(error),
      );
    });
  };

  const launch = (): EngineProcess => {
    const child = spawnEngine({
      enginePath: config.enginePath,
      init: {
        config: engineConfigFor(settings, resources),
        interface: resources.tunnel,
        uid: config.uid,
        gid: config.gid,
        chrootDir: config.chrootDir,
        poolSize: resources.tunnel === null ? 1 : resources.tunFds.length,
        logLevel: config.logLevel,
      },
      fds: { tun: resources.tunFds, udp: resources.udpFds, raw: resources.rawFd },
      sink: config.sink,
      log,
      onRequest: (request) => helper.handle(request),
      readyTimeoutMs: timing.readyTimeoutMs,
    });
    engine = child;
    void child.exited.then((exit) => onEngineExit(child, exit));
    void child.ready.then((start) => {
      if (start.ok) log.info({ child: child.pid }, 'Engine %d ready', child.pid);
      else log.error({ child: child.pid }, 'Engine %d failed to start: %s', child.pid, start.reason);
    });
    return child;
  };

  const stopEngine = async (): Promise<void> => {
    const child = engine;
    if (child === null) return;
    engine = null;
    stopped.add(child);
    await child.stop(timing.stopGraceMs);
    await helper.revertEngineChanges();
  };

  const cleanupAndFinish = async (code: number): Promise<void> => {
    if (restartTimer !== null) clearTimeout(restartTimer);
    restartTimer = null;
    await stopEngine();
    await closeResources(resources, baseline, os, log);
    log.info(code === 0 ? 'Terminated with no error.' : 'Terminated with error(s).');
    finish(code);
  };

  const giveUp = (reason: string): void => {
    if (exiting) return;
    exiting = true;
    log.critical('%s', reason);
    enqueue(() => cleanupAndFinish(1));
  };

  function onEngineExit(child: EngineProcess, exit: EngineExit): void {
    if (stopped.delete(child)) return;
    if (exit.signal !== null) {
      const number = signalNumber(exit.signal);
      log.info(
        { child: child.pid },
        'Child %d killed by signal %d (%s)',
        child.pid,
        number,
        signalDescription(exit.signal),
      );
    } else {
      log.notice({ child: child.pid }, 'Child %d exited (code: %d)', child.pid, exit.code ?? -1);
    }
    if (engine === child) engine = null;
    if (!running || exiting) return;
    enqueue(async () => {
      await helper.revertEngineChanges();
      const now = Date.now();
      deaths = [...deaths.filter((at) => now - at < timing.crashWindowMs), now];
      if (deaths.length > timing.maxCrashes) {
        giveUp(`The engine failed ${deaths.length} times within ${timing.crashWindowMs / 1000} s; giving up`);
        return;
      }
      if (restartTimer !== null) return;
      restartTimer = setTimeout(() => {
        restartTimer = null;
        enqueue(async () => {
          if (exiting || engine !== null) return;
          restarts += 1;
          await launch().ready;
        });
      }, timing.restartDelayMs);
    });
  }

  const applyInPlace = async (next: DaemonSettings, changes: readonly InPlaceChange[]): Promise<void> => {
    const tunnel = resources.tunnel;
    for (const change of changes) {
      switch (change.kind) {
        case 'mtu':
          if (tunnel !== null) await os.setMtu(tunnel.name, change.to);
          log.notice('MTU changed from %d to %d', change.from, change.to);
          break;
        case 'syslog-facility':
          config.setFacility(change.to as SyslogFacility);
          break;
      }
    }
    settings = next;
    if (next.role === 'relay') baseline = relayBaseline(next.interfaceMtu, next.prefix);
    helper.reconfigure(prefixOf(next), baseline);
    engine?.send({ type: 'reconfigure', config: engineConfigFor(next, resources) });
  };

  const restartWith = async (next: DaemonSettings): Promise<void> => {
    const previous = settings;
    await stopEngine();
    await closeResources(resources, baseline, os, log);
    let opened = await openResources(next, poolSizeFor(next, config.poolSize), os);
    if (opened.ok) settings = next;
    else {
      log.error('Cannot apply the new configuration: %s', opened.message);
      opened = await openResources(previous, poolSizeFor(previous, config.poolSize), os);
      if (!opened.ok) {
        giveUp(`Cannot restore the previous configuration: ${opened.message}`);
        return;
      }
      log.warning('Kept the previous configuration');
    }
    resources = opened.resources;
    baseline = resources.baseline;
    helper = newHelper();
    config.setFacility(settings.syslogFacility);
    restarts += 1;
    await launch().ready;
  };

  const reloadNow = async (signal: NodeJS.Signals): Promise<void> => {
    if (exiting) return;
    log.notice('Reloading configuration on signal %d (%s)', signalNumber(signal), signalDescription(signal));
    const loaded = await loadSettings(config.options, config.sources);
    for (const warning of loaded.warnings) log.warning('%s', warning);
    if (!loaded.ok) {
      for (const error of loaded.errors) log.error('%s', error);
      log.error('Configuration not reloaded: the file has errors; keeping the running configuration');
      return;
    }
    if (exiting) return;
    const plan = planReload(settings, loaded.settings);
    switch (plan.kind) {
      case 'unchanged':
        log.info('Configuration unchanged');
        return;
      case 'in-place':
        try {
          await applyInPlace(loaded.settings, plan.changes);
        } catch (error) {
          log.error('Cannot apply the new configuration: %s', errnoText(error));
        }
        return;
      case 'restart':
        log.notice('Restarting the engine (changed: %s)', plan.reasons.join(', '));
        await restartWith(loaded.settings);
        return;
    }
  };

  return {
    start(): Promise<EngineStart> {
      return new Promise((resolve) => {
        enqueue(async () => {
          if (exiting) {
            resolve({ ok: false, reason: 'terminated during startup' });
            return;
          }
          const start = await launch().ready;
          running = start.ok;
          resolve(start);
        });
      });
    },

    reload(signal: NodeJS.Signals): void {
      enqueue(() => reloadNow(signal));
    },

    terminate(signal: NodeJS.Signals | null, code = 0): void {
      if (exiting) return;
      exiting = true;
      if (restartTimer !== null) clearTimeout(restartTimer);
      restartTimer = null;
      if (signal !== null) {
        log.notice('Exiting on signal %d (%s)', signalNumber(signal), signalDescription(signal));
      }
      enqueue(() => cleanupAndFinish(code));
    },

    async summary(): Promise<void> {
      const stats = helper.stats();
      log.notice(
        {
          role: settings.role,
          engine: engine?.pid ?? null,
          interface: resources.tunnel?.name ?? null,
          ifindex: resources.tunnel?.index ?? null,
          boundPort: resources.boundPort,
          uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
          restarts,
          helperAccepted: stats.accepted,
          helperRefused: stats.refused,
          helperFailed: stats.failed,
        },
        'State summary',
      );
      const current = engine;
      if (current === null) {
        log.notice('Engine not running');
        return;
      }
      const summary = await current.requestSummary(1000);
      if (summary === null) log.warning('The engine did not answer the summary request');
      else log.notice({ ...summary }, 'Engine summary');
    },

    killEngine(): void {
      engine?.kill();
      for (const child of stopped) child.kill();
    },

    finished,
  };
}
