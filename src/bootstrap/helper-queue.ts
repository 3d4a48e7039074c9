/**
 * One engine's helper requests, served one at a time in arrival order. The queue is bounded (a
 * flooding engine gets refusals, not memory), and it closes with its engine: a request still
 * waiting then is never served, and close() resolves only once the one being served has
 * finished, so that reverting the engine's changes afterwards sees all it was granted.
 */
import type { Logger } from '../log/logger.js';
import type { HelperRequest, ReplyResult } from '../ipc/bootstrap-engine-messages.js';

export interface RequestQueueOptions {
  /** Most requests waiting or in progress; more are refused at once. */
  readonly limit: number;
  readonly serve: (request: HelperRequest) => Promise<ReplyResult>;
  readonly reply: (id: number, result: ReplyResult) => void;
  readonly log: Logger;
  /** For the log lines: whose requests these are. */
  readonly enginePid: number;
}

export interface RequestQueue {
  push(request: HelperRequest): void;
  /** Drops what waits and takes nothing more; resolves with the number dropped once the request in progress is done. */
  close(): Promise<number>;
}

const MAX_REASON = 512;

export function createRequestQueue(options: RequestQueueOptions): RequestQueue {
  const { log } = options;
  const waiting: HelperRequest[] = [];
  let busy = false;
  let closed = false;
  let idle: Promise<void> = Promise.resolve();

  const serveOne = async (request: HelperRequest): Promise<ReplyResult> => {
    try {
      return await options.serve(request);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      return { ok: false, kind: 'failed', reason: reason.slice(0, MAX_REASON) };
    }
  };

  const drain = async (): Promise<void> => {
    for (let request = waiting.shift(); request !== undefined; request = waiting.shift()) {
      const result = await serveOne(request);
      if (!closed) options.reply(request.id, result);
    }
    busy = false;
  };

  return {
    push(request: HelperRequest): void {
      if (closed) return;
      if (waiting.length + (busy ? 1 : 0) >= options.limit) {
        log.warning(
          { child: options.enginePid, id: request.id },
          'Refused %s request: too many pending requests',
          request.type,
        );
        options.reply(request.id, { ok: false, kind: 'refused', reason: 'too many pending requests' });
        return;
      }
      waiting.push(request);
      if (busy) return;
      busy = true;
      idle = drain();
    },
    async close(): Promise<number> {
      closed = true;
      const dropped = waiting.length;
      waiting.length = 0;
      await idle;
      return dropped;
    },
  };
}
