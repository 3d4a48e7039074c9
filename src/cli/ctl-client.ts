/**
 * miredo-ctl's side of the control socket: connect, send one request frame, read one reply frame
 * (at most the frame limit), check it with its schema. Failures are values with the exit status
 * miredo-ctl(8) documents.
 */
import { createConnection } from 'node:net';
import { createFrameDecoder, describeFrameViolation, encodeFrame } from '../ipc/frames.js';
import { parseControlReply } from '../ipc/control-protocol.js';
import type { ControlReply, ControlRequest } from '../ipc/control-protocol.js';

export const CTL_EXIT = {
  ok: 0,
  /** The daemon answered with an error, or its reply was not valid. */
  failed: 1,
  usage: 2,
  notRunning: 3,
  permissionDenied: 4,
} as const;

export const CTL_TIMEOUT_MS = 10_000;

export type CtlResult =
  | { readonly ok: true; readonly reply: ControlReply }
  | { readonly ok: false; readonly status: number; readonly message: string };

function connectionFailure(path: string, error: NodeJS.ErrnoException): CtlResult {
  switch (error.code) {
    case 'ENOENT':
    case 'ECONNREFUSED':
      return {
        ok: false,
        status: CTL_EXIT.notRunning,
        message: `${path}: the daemon is not running (${error.code})`,
      };
    case 'EACCES':
    case 'EPERM':
      return {
        ok: false,
        status: CTL_EXIT.permissionDenied,
        message: `${path}: permission denied (root or group miredo only)`,
      };
    default:
      return { ok: false, status: CTL_EXIT.failed, message: `${path}: ${error.message}` };
  }
}

export function queryDaemon(
  path: string,
  request: ControlRequest,
  timeoutMs = CTL_TIMEOUT_MS,
): Promise<CtlResult> {
  return new Promise((resolve) => {
    const decoder = createFrameDecoder();
    let settled = false;
    const socket = createConnection({ path });
    const settle = (result: CtlResult): void => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve(result);
    };
    const fail = (message: string): void => settle({ ok: false, status: CTL_EXIT.failed, message });
    socket.setTimeout(timeoutMs, () => fail(`${path}: no reply within ${timeoutMs / 1000} s`));
    socket.on('connect', () => socket.write(encodeFrame(request)));
    socket.on('error', (error: NodeJS.ErrnoException) => settle(connectionFailure(path, error)));
    socket.on('data', (chunk: Buffer) => {
      const event = decoder.push(chunk)[0];
      if (event === undefined) return;
      if (event.kind === 'violation') {
        fail(`bad reply: ${describeFrameViolation(event.violation)}`);
        return;
      }
      const parsed = parseControlReply(event.value);
      if (!parsed.ok) fail(`bad reply: ${parsed.error}`);
      else settle({ ok: true, reply: parsed.message });
    });
    socket.on('end', () => fail(`${path}: the daemon closed the connection without a reply`));
  });
}
