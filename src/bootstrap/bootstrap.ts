/**
 * The root bootstrap (miredo, miredo-server).
 * Privileges: runs as root for its whole life, and uses that only to create and configure its
 * own tunnel interface, open sockets, and apply the engine's helper requests that the policy
 * accepts. It parses nothing from the network.
 *
 * Start: configuration → root check → user → jail directory → logger → PID file → kernel
 * resources → engine; the engine's `ready` completes the start (status 0 for a detached start).
 */
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { CommandLineOptions } from './command-line.js';
import type { SyslogFacility } from '../log/syslog-facility.js';
import { createLogger, stderrSink } from '../log/logger.js';
import type { Logger, LogSink } from '../log/logger.js';
import type { LogLevel } from '../log/levels.js';
import { openSyslogSink } from '../log/syslog.js';
import { removePidFile, tryLockPidFile, writePidFile } from '../os/pidfile.js';
import { prepareChrootDir } from './jail-directory.js';
import type { StartupReporter } from './daemonize.js';
import { errnoText } from './errno-text.js';
import { handleFatalErrors } from './fatal-errors.js';
import type { OsApi } from './os-api.js';
import { lookupUser } from '../os/posix.js';
import { openResources } from './resources.js';
import { loadSettings, poolSizeFor, SYSTEM_SOURCES } from './settings.js';
import type { DaemonSettings } from '../config/settings-schema.js';
import type { SettingsSources } from './settings.js';
import { createSupervisor } from './supervisor.js';
import type { Supervisor, SupervisorTiming } from './supervisor.js';
import type { KernelResources } from './resources.js';
import { resolveUser } from './user.js';
import { startMode } from './start-mode.js';
import { ownEffectiveCapabilities } from '../os/capabilities.js';
import type { UserLookup } from './user.js';
import { openControlSocket } from './control-socket.js';
import type { ControlSocket, ControlSocketOps } from './control-socket.js';
import { SYSTEM_CONTROL_SOCKET } from './os-system.js';
import { openRouteMonitor } from '../os/route-monitor.js';
import { watchUplink } from './uplink-watch.js';
import type { UplinkWatch, UplinkWatchOptions } from './uplink-watch.js';

export interface BootstrapDependencies {
  readonly os: OsApi;
  readonly sources: SettingsSources;
  readonly lookupUser: UserLookup;
  readonly getuid: () => number;
  /** Absent: a bootstrap that is not root is refused (tests). */
  readonly getgid?: () => number;
  /** The bootstrap's effective capability set (start-mode.ts: may it start without root?). */
  readonly effectiveCapabilities?: () => bigint;
  readonly enginePath: string;
  /** miredo-engine-launch, through which a bootstrap that is not root starts its engine. */
  readonly launcherPath?: string;
  /** Data-plane workers when the configuration says 0 (DataplaneWorkers): defaultPoolSize(). */
  readonly poolSize: number;
  readonly logLevel: LogLevel;
  readonly timing?: SupervisorTiming;
  /** After an internal error, how long the normal stop may take (default FATAL_CLEANUP_MS). */
  readonly fatalCleanupMs?: number;
  /** How the control socket is made (control-socket.ts); absent: no control socket. */
  readonly controlSocket?: ControlSocketOps;
  /** The kernel's network change notifications (route-monitor.ts); absent: not watched. */
  readonly openRouteMonitor?: UplinkWatchOptions['open'];
}

export const ENGINE_PATH = fileURLToPath(new URL('../engine/main.js', import.meta.url));
export const LAUNCHER_PATH = fileURLToPath(
  new URL('../../../build/Release/miredo_engine_launch', import.meta.url),
);

/**
 * One data-plane worker per core, at most four (each owns a TUN queue and a UDP socket): the
 * pool size when DataplaneWorkers is 0.
 */
export function defaultPoolSize(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
}

export function systemDependencies(os: OsApi): BootstrapDependencies {
  return {
    os,
    sources: SYSTEM_SOURCES,
    lookupUser,
    getuid: () => process.getuid?.() ?? -1,
    getgid: () => process.getgid?.() ?? -1,
    effectiveCapabilities: ownEffectiveCapabilities,
    enginePath: ENGINE_PATH,
    launcherPath: LAUNCHER_PATH,
    poolSize: defaultPoolSize(),
    logLevel: 'info',
    controlSocket: SYSTEM_CONTROL_SOCKET,
    openRouteMonitor,
  };
}

export { NOT_ROOT_MESSAGE } from './start-mode.js';

export function pidFileMessage(path: string, error: unknown): string {
  return (
    `Cannot create PID file ${path}: ${errnoText(error)}\n` +
    'Please make sure another instance of the program is not already running.'
  );
}

interface LogSetup {
  readonly log: Logger;
  readonly sink: LogSink;
  readonly setFacility: (facility: SyslogFacility) => void;
  readonly close: () => void;
}

function setUpLogging(options: CommandLineOptions, facility: SyslogFacility, level: LogLevel): LogSetup {
  if (options.foreground) {
    const sink = stderrSink();
    return {
      log: createLogger({ name: options.program, sink, level }),
      sink,
      setFacility: () => undefined,
      close: () => undefined,
    };
  }
  const sink = openSyslogSink(options.program, facility);
  return {
    log: createLogger({ name: options.program, sink, level }),
    sink,
    setFacility: (next) => sink.setFacility(next),
    close: () => sink.close(),
  };
}

const EXIT_SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGQUIT'];

/** A client qualifies again at once when the host's IPv4 uplink changes (uplink-watch.ts). */
function watchClientUplink(
  deps: BootstrapDependencies,
  resources: KernelResources,
  supervisor: Supervisor,
  log: Logger,
): UplinkWatch | null {
  if (deps.openRouteMonitor === undefined) return null;
  const tunnelIndex = resources.tunnel?.index ?? null;
  return watchUplink({
    open: deps.openRouteMonitor,
    ignored: (ifindex) => ifindex === tunnelIndex,
    onChange: (changes) => {
      log.info({ changes }, 'Network change: qualifying again');
      supervisor.requalify('network');
    },
    log,
  });
}

/** Runs the daemon until it exits; resolves with the exit status. */
export async function runBootstrap(
  options: CommandLineOptions,
  reporter: StartupReporter,
  deps: BootstrapDependencies,
): Promise<number> {
  const fail = (...messages: string[]): number => {
    for (const message of messages) reporter.error(message);
    reporter.done(1);
    return 1;
  };
  process.umask(0o022);

  const loaded = await loadSettings(options, deps.sources);
  if (!loaded.ok) {
    // Not fail(...list): 150,000 unknown directives are more warnings than a call takes arguments.
    for (const message of loaded.warnings.concat(loaded.errors)) reporter.error(message);
    return fail();
  }
  const mode = startMode(
    options.program,
    { uid: deps.getuid(), gid: deps.getgid?.() ?? -1 },
    deps.getuid() === 0 ? 0n : (deps.effectiveCapabilities?.() ?? 0n),
    options.user,
    deps.lookupUser,
  );
  if (mode.kind === 'refused') return fail(mode.message);
  const user =
    mode.kind === 'root' ? resolveUser(options.user, deps.lookupUser) : { ok: true as const, user: mode };
  if (!user.ok) return fail(user.message);
  const jail = prepareChrootDir(options.chrootDir);
  if (!jail.ok) return fail(jail.message);

  const logging = setUpLogging(options, loaded.settings.syslogFacility, deps.logLevel);
  const { log } = logging;
  log.info('Starting...');
  for (const warning of loaded.warnings) log.warning('%s', warning);

  const lock = tryLockPidFile(options.pidFile);
  if (!lock.ok) {
    const message = pidFileMessage(options.pidFile, lock.error);
    log.error('%s', message.replace('\n', ' '));
    logging.close();
    return fail(message);
  }
  writePidFile(lock.fd, process.pid);
  let pidFileHeld = true;
  const releasePidFile = (): void => {
    if (!pidFileHeld) return;
    pidFileHeld = false;
    try {
      removePidFile(options.pidFile, lock.fd);
    } catch (error) {
      log.warning('Cannot remove PID file %s: %s', options.pidFile, errnoText(error));
    }
  };

  // After the PID file's lock: the socket's path is then ours (control-socket.ts).
  const control =
    deps.controlSocket === undefined ? null : openControlSocket(options.pidFile, deps.controlSocket, log);
  try {
    return await superviseEngine(options, reporter, deps, {
      settings: loaded.settings,
      user: user.user,
      launcher: mode.kind === 'root' ? null : (deps.launcherPath ?? LAUNCHER_PATH),
      jail: jail.dir,
      logging,
      releasePidFile,
      control,
    });
  } finally {
    control?.close();
    releasePidFile();
    logging.close();
  }
}

interface Prepared {
  readonly settings: DaemonSettings;
  readonly user: { readonly uid: number; readonly gid: number };
  /** miredo-engine-launch when the bootstrap is not root; null: the engine drops privileges itself. */
  readonly launcher: string | null;
  readonly jail: string;
  readonly logging: LogSetup;
  readonly releasePidFile: () => void;
  readonly control: ControlSocket | null;
}

/** From the PID file on: opens the resources, runs the supervisor until the daemon stops. */
async function superviseEngine(
  options: CommandLineOptions,
  reporter: StartupReporter,
  deps: BootstrapDependencies,
  prepared: Prepared,
): Promise<number> {
  const { logging, settings } = prepared;
  const { log } = logging;
  const opened = await openResources(settings, poolSizeFor(settings, deps.poolSize), deps.os);
  if (!opened.ok) {
    log.alert('Miredo setup failure: %s', opened.message);
    prepared.releasePidFile();
    log.info('Terminated with error(s).');
    reporter.error(opened.message);
    reporter.done(1);
    return 1;
  }

  const supervisor = createSupervisor({
    options,
    settings,
    resources: opened.resources,
    uid: prepared.user.uid,
    gid: prepared.user.gid,
    chrootDir: prepared.jail,
    launcher: prepared.launcher,
    poolSize: deps.poolSize,
    logLevel: deps.logLevel,
    log,
    sink: logging.sink,
    setFacility: logging.setFacility,
    os: deps.os,
    sources: deps.sources,
    enginePath: deps.enginePath,
    ...(prepared.control === null ? {} : { controlFd: prepared.control.fd }),
    ...(deps.timing === undefined ? {} : { timing: deps.timing }),
  });
  let failed = false;
  const removeFatalHandlers = handleFatalErrors({
    log,
    stop: () => {
      failed = true;
      supervisor.terminate(null, 1);
    },
    lastResort: () => {
      supervisor.killEngine();
      prepared.releasePidFile();
    },
    exit: (code) => process.exit(code),
    ...(deps.fatalCleanupMs === undefined ? {} : { cleanupMs: deps.fatalCleanupMs }),
  });

  const handlers: Array<readonly [NodeJS.Signals, () => void]> = [
    ['SIGHUP', () => supervisor.reload('SIGHUP')],
    ['SIGUSR1', () => void supervisor.summary()],
    ['SIGUSR2', () => supervisor.readMaintenanceFile()],
    ...EXIT_SIGNALS.map((signal) => [signal, () => supervisor.terminate(signal)] as const),
  ];
  for (const [signal, handler] of handlers) process.on(signal, handler);

  const uplink =
    settings.role === 'client' ? watchClientUplink(deps, opened.resources, supervisor, log) : null;
  const start = await supervisor.start();
  if (start.ok) reporter.done(0);
  else {
    reporter.error(`Cannot start the engine: ${start.reason}`);
    supervisor.terminate(null, 1);
  }
  const code = await supervisor.finished;
  uplink?.stop();
  for (const [signal, handler] of handlers) process.off(signal, handler);
  removeFatalHandlers();
  prepared.releasePidFile();
  if (!start.ok) reporter.done(1);
  return failed ? Math.max(code, 1) : code;
}
