/**
 * The bootstrap's handle on one engine process: spawns it with the kernel descriptors at known
 * numbers and an IPC channel, sends `init`, forwards its log lines, and serves its helper
 * requests one at a time. Everything the engine sends is parsed by ipc.ts before use.
 */
import { spawn } from 'node:child_process';
import { workersArgument } from './early-pool.js';
import type { Logger, LogSink } from '../log/logger.js';
import { createLineSplitter } from '../log/line-splitter.js';
import { parseLogLine } from '../log/record.js';
import { FAULT_INJECTION_ENV, helperRequestSchema, parseEngineToBootstrap, requestIdOf } from './ipc.js';
import type { BootstrapToEngine, EngineSummary, HelperRequest, InitMessage, ReplyResult } from './ipc.js';

export interface EngineExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export type EngineStart = { readonly ok: true } | { readonly ok: false; readonly reason: string };

export interface EngineDescriptors {
  readonly tun: readonly number[];
  readonly udp: readonly number[];
  readonly raw: number | null;
}

export interface EngineProcessOptions {
  /** The compiled engine entry point (dist/src/daemon/engine-main.js), or a test double. */
  readonly enginePath: string;
  readonly init: Omit<InitMessage, 'type' | 'fds'>;
  /** Descriptors in the bootstrap; the engine receives them renumbered from FIRST_PASSED_FD. */
  readonly fds: EngineDescriptors;
  /** Where the engine's JSON log lines go (the bootstrap's own sink). */
  readonly sink: LogSink;
  readonly log: Logger;
  readonly onRequest: (request: HelperRequest) => Promise<ReplyResult>;
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
}

/** stdin, stdout, stderr, then the IPC channel at 3: passed descriptors start at 4. */
export const IPC_FD = 3;
export const FIRST_PASSED_FD = 4;
export const DEFAULT_READY_TIMEOUT_MS = 10_000;
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
  return {
    passed,
    inEngine: { tun: fds.tun.map(take), udp: fds.udp.map(take), raw: fds.raw === null ? null : take() },
  };
}

/**
 * The engine's whole environment: nothing, except the test-only fault injection switch when
 * root started the bootstrap with it (SECURITY.md).
 */
export function engineEnvironment(bootstrapEnv: NodeJS.ProcessEnv): Record<string, string> {
  return bootstrapEnv[FAULT_INJECTION_ENV] === '1' ? { [FAULT_INJECTION_ENV]: '1' } : {};
}

function exitText(exit: EngineExit): string {
  return exit.signal !== null ? `killed by ${exit.signal}` : `exited with code ${exit.code ?? 'unknown'}`;
}

export function spawnEngine(options: EngineProcessOptions): EngineProcess {
  const { log, sink } = options;
  const { passed, inEngine } = renumberDescriptors(options.fds);
  const child = spawn(process.execPath, [options.enginePath, workersArgument(options.init.poolSize)], {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc', ...passed],
    serialization: 'json',
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

  const send = (message: BootstrapToEngine): void => {
    if (!child.connected) return;
    child.send(message, (error) => {
      if (error !== null && error !== undefined)
        log.debug('Cannot send %s to the engine: %s', message.type, error.message);
    });
  };

  // Engine output: pino lines go to our sink as they are; anything else (a crash trace) is wrapped.
  const forward = (line: string): void => {
    if (parseLogLine(line) !== null) sink.write(`${line}\n`);
    else log.error({ child: pid }, '%s', line);
  };
  for (const stream of [child.stdout, child.stderr]) {
    if (stream === null) continue;
    const splitter = createLineSplitter(forward);
    stream.on('data', (chunk: Buffer) => splitter.push(chunk));
    stream.on('end', () => splitter.end());
  }

  let pending = 0;
  let queue: Promise<void> = Promise.resolve();
  const serve = (request: HelperRequest): void => {
    if (pending >= MAX_PENDING_REQUESTS) {
      log.warning(
        { child: pid, id: request.id },
        'Refused %s request: too many pending requests',
        request.type,
      );
      send({
        type: 'reply',
        id: request.id,
        result: { ok: false, kind: 'refused', reason: 'too many pending requests' },
      });
      return;
    }
    pending += 1;
    queue = queue.then(async () => {
      let result: ReplyResult;
      try {
        result = await options.onRequest(request);
      } catch (error) {
        result = {
          ok: false,
          kind: 'failed',
          reason: (error instanceof Error ? error.message : String(error)).slice(0, 512),
        };
      } finally {
        pending -= 1;
      }
      send({ type: 'reply', id: request.id, result });
    });
  };

  child.on('message', (raw: unknown) => {
    const parsed = parseEngineToBootstrap(raw);
    if (!parsed.ok) {
      const id = requestIdOf(raw);
      const type =
        typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>)['type'] : undefined;
      const isRequest = helperRequestSchema.options.some((option) => option.shape.type.value === type);
      log.warning({ child: pid }, 'Invalid message from the engine: %s', parsed.error);
      if (isRequest && id !== null) {
        send({
          type: 'reply',
          id,
          result: { ok: false, kind: 'refused', reason: `malformed request: ${parsed.error}`.slice(0, 512) },
        });
      }
      return;
    }
    const message = parsed.message;
    switch (message.type) {
      case 'ready':
        clearTimeout(readyTimer);
        settleReady({ ok: true });
        return;
      case 'summary-report': {
        const resolve = summaries.get(message.id);
        summaries.delete(message.id);
        resolve?.(message.summary);
        return;
      }
      default:
        serve(message);
    }
  });

  child.on('error', (error) => {
    clearTimeout(readyTimer);
    settleReady({ ok: false, reason: error.message });
    log.error({ child: pid }, 'Engine process error: %s', error.message);
    if (child.pid === undefined) {
      hasExited = true;
      settleExited({ code: null, signal: null });
    }
  });

  // 'close' rather than 'exit': it comes after the engine's last log lines have been read.
  child.on('close', (code, signal) => {
    hasExited = true;
    clearTimeout(readyTimer);
    const exit = { code, signal };
    settleReady({ ok: false, reason: exitText(exit) });
    for (const resolve of summaries.values()) resolve(null);
    summaries.clear();
    settleExited(exit);
  });

  send({ type: 'init', ...options.init, fds: inEngine });

  return {
    pid,
    ready,
    exited,
    send,
    requestSummary(timeoutMs: number): Promise<EngineSummary | null> {
      if (hasExited) return Promise.resolve(null);
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
