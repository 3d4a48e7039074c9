/**
 * The bootstrap's handle on one engine process: spawns it with the kernel descriptors at known
 * numbers and a framed channel (src/ipc/channel.ts), sends `init`, forwards its log lines marked as
 * the engine's, and serves its helper requests one at a time. Everything the engine sends is
 * parsed by its schema (src/ipc/bootstrap-engine-messages.ts) before use; anything that does not parse is a protocol violation, and the
 * engine is killed for it (the supervisor then restarts it under its crash-loop guard).
 *
 * Requests of a dead engine are never applied: once it has exited (or been killed) the ones
 * still queued are dropped, and `exited` settles only after the one in progress has finished,
 * so whatever reverts the engine's changes on `exited` sees everything that was applied.
 */
import { spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import type { Logger, LogSink } from '../log/logger.js';
import { signalDescription, signalNumber } from './signals.js';
import { engineLogLine } from '../log/engine-line.js';
import { createLineSplitter } from '../log/line-splitter.js';
import { openFrameChannel } from '../ipc/channel.js';
import { describeFrameViolation } from '../ipc/frames.js';
import { createRequestQueue } from './helper-queue.js';
import {
  CHANNEL_FD,
  FAULT_INJECTION_ENV,
  FIRST_PASSED_FD,
  injectedFault,
  workersArgument,
} from '../ipc/engine-launch.js';
import { parseEngineToBootstrap } from '../ipc/bootstrap-engine-messages.js';
import type {
  BootstrapToEngine,
  EngineSummary,
  HealthMessage,
  HelperRequest,
  InitMessage,
  ReplyResult,
  ResolvedResult,
  ResolveRequest,
} from '../ipc/bootstrap-engine-messages.js';

export interface EngineExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export type EngineStart = { readonly ok: true } | { readonly ok: false; readonly reason: string };

export interface EngineDescriptors {
  readonly tun: readonly number[];
  readonly udp: readonly number[];
  readonly raw: number | null;
  /** Listening sockets the engine serves (control socket, metrics); absent when not opened. */
  readonly control?: number;
  readonly metrics?: number;
  /** Client with local discovery. */
  readonly discovery?: number;
}

export interface EngineProcessOptions {
  /** The compiled engine entry point (dist/src/engine/main.js), or a test double. */
  readonly enginePath: string;
  /**
   * miredo-engine-launch, for a bootstrap that is not root: it starts the engine with no
   * capability and a jailer at the next free descriptor (`init.fds.jailer`); null: spawned directly.
   */
  readonly launcher?: string | null;
  readonly init: Omit<InitMessage, 'type' | 'fds'>;
  /** Descriptors in the bootstrap; the engine receives them renumbered from FIRST_PASSED_FD. */
  readonly fds: EngineDescriptors;
  /** Where the engine's JSON log lines go (the bootstrap's own sink). */
  readonly sink: LogSink;
  readonly log: Logger;
  readonly onRequest: (request: HelperRequest) => Promise<ReplyResult>;
  /** A client's `resolve` request (name-service.ts); absent: refused. */
  readonly onResolve?: (request: ResolveRequest) => Promise<ResolvedResult>;
  /** The engine's data-plane health reports (a relay's announcer); absent: ignored. */
  readonly onHealth?: (message: HealthMessage) => void;
  readonly readyTimeoutMs?: number;
}

export interface EngineProcess {
  readonly pid: number;
  /** Settles once: the engine said `ready`, or it failed to. */
  readonly ready: Promise<EngineStart>;
  readonly exited: Promise<EngineExit>;
  send(message: BootstrapToEngine): void;
  requestSummary(timeoutMs: number): Promise<EngineSummary | null>;
  /** `stop`, then SIGKILL after `graceMs`; resolves when the process is gone. */
  stop(graceMs: number): Promise<EngineExit>;
  /** SIGKILL now (the bootstrap's last resort). */
  kill(): void;
}

export const DEFAULT_READY_TIMEOUT_MS = 10_000;
/**
 * How long the engine's stdout and stderr may stay open once it has exited (its last log lines
 * are still being read). A descendant that inherited them cannot delay `exited` beyond this.
 */
export const OUTPUT_DRAIN_MS = 1000;
/** Requests waiting for the helper beyond this are refused: a flooding engine cannot queue without bound. */
export const MAX_PENDING_REQUESTS = 64;

/** Where each descriptor lands in the engine, in the order they are passed. */
export function renumberDescriptors(fds: EngineDescriptors): {
  readonly passed: readonly number[];
  readonly inEngine: InitMessage['fds'];
} {
  const passed = [...fds.tun, ...fds.udp, ...(fds.raw === null ? [] : [fds.raw])];
  let next = FIRST_PASSED_FD;
  const take = (): number => next++;
  const inEngine: InitMessage['fds'] = {
    tun: fds.tun.map(take),
    udp: fds.udp.map(take),
    raw: fds.raw === null ? null : take(),
  };
  if (fds.discovery !== undefined) {
    passed.push(fds.discovery);
    inEngine.discovery = take();
  }
  if (fds.control !== undefined) {
    passed.push(fds.control);
    inEngine.control = take();
  }
  if (fds.metrics !== undefined) {
    passed.push(fds.metrics);
    inEngine.metrics = take();
  }
  return { passed, inEngine };
}

/**
 * The engine's whole environment: nothing, except the test-only fault injection switch when
 * root started the bootstrap with it (SECURITY.md).
 */
export function engineEnvironment(bootstrapEnv: NodeJS.ProcessEnv): Record<string, string> {
  const value = bootstrapEnv[FAULT_INJECTION_ENV];
  return injectedFault(value) === null || value === undefined ? {} : { [FAULT_INJECTION_ENV]: value };
}

/** The supervisor's line for an engine that ended by itself (Miredo's wording). */
export function logEngineExit(log: Logger, pid: number, exit: EngineExit): void {
  if (exit.signal !== null) {
    const number = signalNumber(exit.signal);
    log.info(
      { child: pid },
      'Child %d killed by signal %d (%s)',
      pid,
      number,
      signalDescription(exit.signal),
    );
  } else {
    log.notice({ child: pid }, 'Child %d exited (code: %d)', pid, exit.code ?? -1);
  }
}

function exitText(exit: EngineExit): string {
  return exit.signal !== null ? `killed by ${exit.signal}` : `exited with code ${exit.code ?? 'unknown'}`;
}

/**
 * Longer than 80 lines: one engine process: its channel, request queue, ready and exit promises,
 * summary requests and output are wired to each other (a violation kills it, its exit closes the
 * queue and settles the summaries), and each handler is short.
 */
export function spawnEngine(options: EngineProcessOptions): EngineProcess {
  const { log, sink } = options;
  const { passed, inEngine } = renumberDescriptors(options.fds);
  const engineCommand = [process.execPath, options.enginePath, workersArgument(options.init.poolSize)];
  const jailer = FIRST_PASSED_FD + passed.length;
  const launcher = options.launcher ?? null;
  if (launcher !== null) inEngine.jailer = jailer;
  const [command = process.execPath, ...args] =
    launcher === null ? engineCommand : [launcher, options.init.chrootDir, String(jailer), ...engineCommand];
  // A plain 'pipe' (a socketpair, read with read(2)) rather than 'ipc': see src/ipc/channel.ts.
  const child = spawn(command, args, {
    stdio: ['ignore', 'pipe', 'pipe', 'pipe', ...passed],
    env: engineEnvironment(process.env),
    cwd: '/',
  });
  const pid = child.pid ?? 0;

  let settleReady: (start: EngineStart) => void = () => undefined;
  const ready = new Promise<EngineStart>((resolve) => {
    settleReady = resolve;
  });
  let settleExited: (exit: EngineExit) => void = () => undefined;
  const exited = new Promise<EngineExit>((resolve) => {
    settleExited = resolve;
  });
  /** False from the moment the engine is known dead (exited, killed, or never started). */
  let alive = true;
  let hasExited = false;
  const summaries = new Map<number, (summary: EngineSummary | null) => void>();
  let nextSummaryId = 1;

  const readyTimer = setTimeout(() => {
    settleReady({
      ok: false,
      reason: `no "ready" within ${options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS} ms`,
    });
    child.kill('SIGKILL');
  }, options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS);

  const requests = createRequestQueue({
    limit: MAX_PENDING_REQUESTS,
    serve: options.onRequest,
    reply: (id, result) => send({ type: 'reply', id, result }),
    log,
    enginePid: pid,
  });

  /** Nothing more from this engine is acted on; the queue waits for the request in progress. */
  let closing: Promise<number> | null = null;
  const dead = (): Promise<number> => {
    alive = false;
    channel?.close();
    closing ??= requests.close();
    return closing;
  };

  const violation = (reason: string): void => {
    if (!alive) return;
    log.critical({ child: pid, reason }, 'Protocol violation by engine %d: %s; killing it', pid, reason);
    child.kill('SIGKILL');
    void dead();
  };

  const receive = (raw: unknown): void => {
    const parsed = parseEngineToBootstrap(raw);
    if (!parsed.ok) {
      violation(`invalid message: ${parsed.error}`.slice(0, 512));
      return;
    }
    const message = parsed.message;
    switch (message.type) {
      case 'ready':
        clearTimeout(readyTimer);
        settleReady({ ok: true });
        return;
      case 'health':
        options.onHealth?.(message);
        return;
      case 'summary-report': {
        const resolve = summaries.get(message.id);
        summaries.delete(message.id);
        resolve?.(message.summary);
        return;
      }
      case 'resolve':
        void (options.onResolve?.(message) ?? Promise.resolve({ ok: false, reason: 'no name service' })).then(
          (result) => {
            if (alive) send({ type: 'resolved', id: message.id, result });
          },
        );
        return;
      default:
        requests.push(message);
    }
  };

  const socket = child.stdio[CHANNEL_FD] as Socket | null | undefined;
  const channel =
    socket === null || socket === undefined
      ? null
      : openFrameChannel(socket, {
          message: receive,
          violation: (frame) => violation(describeFrameViolation(frame)),
          // The engine closing its end is not an exit: 'exit' below decides.
          closed: () => undefined,
        });

  function send(message: BootstrapToEngine): void {
    channel?.send(message);
  }

  // Engine output: each line re-written by the bootstrap, marked as the engine's (engine-line.ts).
  const forward = (line: string): void => {
    sink.write(engineLogLine(line, pid, Date.now()));
  };
  const outputs = [child.stdout, child.stderr].filter((stream) => stream !== null);
  for (const stream of outputs) {
    const splitter = createLineSplitter(forward);
    stream.on('data', (chunk: Buffer) => splitter.push(chunk));
    stream.on('end', () => splitter.end());
  }

  const finish = async (exit: EngineExit): Promise<void> => {
    clearTimeout(readyTimer);
    settleReady({ ok: false, reason: exitText(exit) });
    const dropped = await dead();
    if (dropped > 0)
      log.warning({ child: pid }, 'Dropped %d request(s) of engine %d: it is gone', dropped, pid);
    hasExited = true;
    for (const resolve of summaries.values()) resolve(null);
    summaries.clear();
    settleExited(exit);
  };

  child.on('error', (error) => {
    clearTimeout(readyTimer);
    settleReady({ ok: false, reason: error.message });
    log.error({ child: pid }, 'Engine process error: %s', error.message);
    if (child.pid === undefined) void finish({ code: null, signal: null });
  });

  let drainTimer: NodeJS.Timeout | null = null;
  child.on('exit', () => {
    void dead();
    drainTimer = setTimeout(() => {
      for (const stream of outputs) stream.destroy();
    }, OUTPUT_DRAIN_MS);
  });
  // 'close' rather than 'exit': it comes after the engine's last log lines have been read.
  child.on('close', (code, signal) => {
    if (drainTimer !== null) clearTimeout(drainTimer);
    void finish({ code, signal });
  });

  send({ type: 'init', ...options.init, fds: inEngine });

  return {
    pid,
    ready,
    exited,
    send,
    requestSummary(timeoutMs: number): Promise<EngineSummary | null> {
      if (hasExited || !alive) return Promise.resolve(null);
      const id = nextSummaryId++;
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          summaries.delete(id);
          resolve(null);
        }, timeoutMs);
        summaries.set(id, (summary) => {
          clearTimeout(timer);
          resolve(summary);
        });
        send({ type: 'summary', id });
      });
    },
    kill(): void {
      child.kill('SIGKILL');
    },
    async stop(graceMs: number): Promise<EngineExit> {
      if (hasExited) return exited;
      send({ type: 'stop' });
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const exit = await exited;
      clearTimeout(timer);
      return exit;
    },
  };
}
