/**
 * The control socket, served by the engine: the bootstrap opened and bound it (root-owned, mode
 * 0660, see SECURITY.md) and passed the listening descriptor; the engine, jailed and
 * unprivileged, accepts on it. Each connection carries one request frame, capped at
 * MAX_CONTROL_REQUEST_BYTES before a byte of it is kept, then gets one reply frame and is closed.
 * A bad frame or request gets an error reply; nothing a client sends can change the daemon.
 */
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import type { Logger } from '../log/logger.js';
import { createFrameDecoder, describeFrameViolation, encodeFrame } from '../ipc/frames.js';
import { MAX_CONTROL_REQUEST_BYTES, parseControlRequest } from '../ipc/control-protocol.js';
import type { ControlReply, ControlRequest } from '../ipc/control-protocol.js';

/** A client that has not sent its request (or read its reply) by then is disconnected. */
export const CONTROL_TIMEOUT_MS = 5000;
/** Connections served at once; more are closed by the kernel's accept and Node at once. */
export const MAX_CONTROL_CONNECTIONS = 8;

export type ControlAnswer = (request: ControlRequest) => Promise<ControlReply>;

export interface Listening {
  close(): void;
}

function errorReply(error: 'bad-request' | 'not-ready' | 'busy', message: string): ControlReply {
  // Zod's messages may quote what the client sent: keep them printable (control-protocol.ts).
  return { kind: 'error', error, message: message.replace(/[^\x20-\x7e]/g, '?').slice(0, 512) };
}

function serveConnection(socket: Socket, answer: ControlAnswer, log: Logger): void {
  const decoder = createFrameDecoder(MAX_CONTROL_REQUEST_BYTES);
  let answered = false;
  const reply = (message: ControlReply): void => {
    socket.end(encodeFrame(message));
  };
  socket.setTimeout(CONTROL_TIMEOUT_MS, () => socket.destroy());
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: Buffer) => {
    if (answered) return;
    const event = decoder.push(chunk)[0];
    if (event === undefined) return;
    answered = true;
    socket.pause();
    if (event.kind === 'violation') {
      log.debug('Control request refused: %s', describeFrameViolation(event.violation));
      reply(errorReply('bad-request', describeFrameViolation(event.violation)));
      return;
    }
    const parsed = parseControlRequest(event.value);
    if (!parsed.ok) {
      log.debug('Control request refused: %s', parsed.error);
      reply(errorReply('bad-request', parsed.error));
      return;
    }
    answer(parsed.message).then(reply, (error: unknown) => {
      log.error('Control request failed: %s', error instanceof Error ? error.message : String(error));
      socket.destroy();
    });
  });
}

/** Starts `server` on the listening descriptor `fd` (accepting needs no file system: fine in the jail). */
export function listenOn(server: Server, fd: number, what: string, log: Logger): Listening {
  server.maxConnections = MAX_CONTROL_CONNECTIONS;
  server.on('error', (error) => log.error('%s: %s', what, error.message));
  server.listen({ fd });
  return { close: () => server.close() };
}

/** Serves the control socket listening at `fd`. */
export function serveControlSocket(fd: number, answer: ControlAnswer, log: Logger): Listening {
  return listenOn(
    createServer((socket) => serveConnection(socket, answer, log)),
    fd,
    'Control socket',
    log,
  );
}
