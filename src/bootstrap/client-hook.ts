/**
 * Miredo's client hook, run by the bootstrap (root) when the client's engine reports a state
 * change, as miredo-privproc does (reference section 1.3): `/etc/miredo/client-hook` (or the
 * path in MIREDO_TS_CLIENT_HOOK), if it exists and is executable, with
 *
 *   IFINDEX, IFACE        the tunnel interface
 *   STATE                 up, down, or destroy (when the engine is gone, after a last down)
 *   ADDRESS, LLADDRESS    the Teredo address (:: when down) and the matching link-local
 *                         (fe80::8000:5445:5245:444f for a cone address, else fe80::ffff:ffff:ffff)
 *   MTU                   the tunnel MTU (1280 when down)
 *   OLD_STATE, OLD_ADDRESS, OLD_LLADDRESS, OLD_MTU   the previous invocation's values (down, ::,
 *                         the restricted link-local and 1280 before the first one)
 *
 * and PATH. Our helper has already configured the interface by then: the hook is for local
 * additions. Debian's own hook flushes and redoes the same configuration, so for a moment the
 * address and routes are gone and packets sent then are lost; "Client hook up done" is logged
 * when it has finished. Invocations never overlap; each is killed after a timeout, with every
 * process it started (its process group); its output is logged.
 */
import type { HookPortMapping } from '../ipc/bootstrap-engine-messages.js';
import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import type { Logger } from '../log/logger.js';
import { clientLinkLocal, isConeAt } from '../teredo/address.js';
import { TEREDO_CONSTANTS } from '../teredo/constants.js';
import { formatIPv6 } from '../teredo/ipv6-text.js';

export const DEFAULT_CLIENT_HOOK = '/etc/miredo/client-hook';
/** Overrides the hook's path (tests, unusual installations). */
export const CLIENT_HOOK_ENV = 'MIREDO_TS_CLIENT_HOOK';
export const CLIENT_HOOK_TIMEOUT_MS = 10_000;
const HOOK_PATH_VARIABLE = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const RESTRICTED_LINK_LOCAL = formatIPv6(clientLinkLocal(false));
const CONE_LINK_LOCAL = formatIPv6(clientLinkLocal(true));
/** What a down state reports, as Miredo's privproc. */
const DOWN_MTU = TEREDO_CONSTANTS.minMtu;
const MAX_OUTPUT_BYTES = 64 * 1024;

export function clientHookPath(env: NodeJS.ProcessEnv = process.env): string {
  const override = env[CLIENT_HOOK_ENV];
  return override !== undefined && override !== '' ? override : DEFAULT_CLIENT_HOOK;
}

export type HookState = 'up' | 'down' | 'destroy';

export interface HookOutcome {
  /** Exit status, or null when killed (timeout) or not started. */
  readonly code: number | null;
  readonly output: string;
  /** Why it could not run, if it could not. */
  readonly error?: string;
}

/** Runs `path` with exactly `env`; never rejects. */
export type HookRunner = (
  path: string,
  env: Readonly<Record<string, string>>,
  timeoutMs: number,
) => Promise<HookOutcome>;

/** Whether `path` is a regular file we may execute. */
export type HookProbe = (path: string) => Promise<boolean>;

export interface ClientHookOptions {
  readonly path: string;
  readonly ifname: string;
  readonly ifindex: number;
  readonly log: Logger;
  readonly runner?: HookRunner;
  readonly probe?: HookProbe;
  readonly timeoutMs?: number;
}

export interface ClientHook {
  /**
   * The engine's new state (address: 16 bytes, ignored for down). Resolves when the hook is done,
   * or at once when there is none; rejects with the reason when it failed.
   */
  report(
    state: 'up' | 'down',
    address: Uint8Array | null,
    mtu: number,
    portMapping?: HookPortMapping | null,
  ): Promise<void>;
  /** The engine is gone: a last down, then destroy (as privproc does when its worker ends). Never rejects. */
  finish(): Promise<void>;
}

interface Settings {
  readonly state: HookState;
  readonly address: string;
  readonly linkLocal: string;
  readonly mtu: number;
  readonly portMapping?: HookPortMapping | null;
}

/** PORT_MAPPING_*: only when up with a mapping on the NAT (ours; Miredo has none). */
function portMappingVariables(mapping: HookPortMapping | null | undefined): Record<string, string> {
  if (mapping === null || mapping === undefined) return {};
  return {
    PORT_MAPPING_PROTOCOL: mapping.protocol,
    PORT_MAPPING_ADDRESS: mapping.externalAddress ?? '',
    PORT_MAPPING_PORT: String(mapping.externalPort),
    PORT_MAPPING_LIFETIME: String(mapping.lifetime),
  };
}

const INITIAL: Settings = { state: 'down', address: '::', linkLocal: RESTRICTED_LINK_LOCAL, mtu: DOWN_MTU };

export const systemHookProbe: HookProbe = async (path) => {
  try {
    if (!(await stat(path)).isFile()) return false;
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/**
 * Runs the hook as the leader of a new process group (and session), so that the timeout ends
 * everything it started: a `sleep 20 &` that keeps our output pipe open would otherwise hold
 * the helper's queue after the hook itself was killed or had exited. At the timeout the whole
 * group gets SIGKILL and the pipes are closed on our side, so the run ends then even if some
 * process that left the group still holds them.
 */
export const systemHookRunner: HookRunner = (path, env, timeoutMs) =>
  new Promise((resolve) => {
    const child = spawn(path, [], {
      env: { ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: '/',
      detached: true,
    });
    let output = '';
    let timedOut = false;
    const collect = (chunk: Buffer): void => {
      if (output.length < MAX_OUTPUT_BYTES) output += chunk.toString('utf8');
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid);
      child.stdout.destroy();
      child.stderr.destroy();
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ code: null, output, error: error.message });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: timedOut ? null : code, output });
    });
  });

/** SIGKILL to the process group led by `pid` (gone already: nothing to do). */
function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // ESRCH: every process of the group has ended.
  }
}

/**
 * Longer than 80 lines: the chain of invocations and the last one's settings (OLD_*) are shared
 * by invoke, report and finish; each is short.
 */
export function createClientHook(options: ClientHookOptions): ClientHook {
  const { path, log } = options;
  const runner = options.runner ?? systemHookRunner;
  const probe = options.probe ?? systemHookProbe;
  const timeoutMs = options.timeoutMs ?? CLIENT_HOOK_TIMEOUT_MS;
  let previous: Settings = INITIAL;
  let chain: Promise<unknown> = Promise.resolve();

  const invoke = async (next: Settings): Promise<void> => {
    if (!(await probe(path))) {
      log.debug({ hook: path }, 'No client hook to run');
      return;
    }
    const env: Record<string, string> = {
      PATH: HOOK_PATH_VARIABLE,
      IFINDEX: String(options.ifindex),
      IFACE: options.ifname,
      STATE: next.state,
      ADDRESS: next.address,
      LLADDRESS: next.linkLocal,
      MTU: String(next.mtu),
      OLD_STATE: previous.state,
      OLD_ADDRESS: previous.address,
      OLD_LLADDRESS: previous.linkLocal,
      OLD_MTU: String(previous.mtu),
      ...portMappingVariables(next.portMapping),
    };
    previous = next;
    const outcome = await runner(path, env, timeoutMs);
    for (const line of outcome.output.split('\n')) {
      if (line.trim() !== '') log.info({ hook: path, state: next.state }, '%s', line);
    }
    let failure: string | null = null;
    if (outcome.error !== undefined) failure = `cannot run ${path}: ${outcome.error}`;
    else if (outcome.code === null) failure = `${path} was killed after ${timeoutMs} ms`;
    else if (outcome.code !== 0) failure = `${path} exited with status ${outcome.code}`;
    if (failure !== null) throw new Error(failure);
    log.info({ hook: path, state: next.state }, 'Client hook %s done', next.state);
  };

  const serially = (operation: () => Promise<void>): Promise<void> => {
    const run = chain.then(operation);
    chain = run.catch(() => undefined);
    return run;
  };

  const down: Omit<Settings, 'state'> = { address: '::', linkLocal: RESTRICTED_LINK_LOCAL, mtu: DOWN_MTU };

  return {
    report(state, address, mtu, portMapping = null) {
      if (state === 'down' || address === null) return serially(() => invoke({ state: 'down', ...down }));
      return serially(() =>
        invoke({
          state: 'up',
          address: formatIPv6(address),
          linkLocal: isConeAt(address, 0) ? CONE_LINK_LOCAL : RESTRICTED_LINK_LOCAL,
          mtu,
          portMapping,
        }),
      );
    },

    finish() {
      return serially(async () => {
        for (const state of ['down', 'destroy'] as const) {
          try {
            await invoke({ state, ...down });
          } catch (error) {
            log.warning(
              { hook: path },
              'Client hook %s: %s',
              state,
              error instanceof Error ? error.message : String(error),
            );
          }
        }
        previous = INITIAL;
      });
    },
  };
}
