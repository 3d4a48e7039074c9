/**
 * One end of the bootstrap ↔ engine channel: a stream socket (the Unix socketpair libuv makes
 * for a plain `pipe` in spawn's stdio, at fd 3 in the engine) carrying frames.ts frames.
 *
 * The socket is read with read(2), never recvmsg(2): Node only uses recvmsg on an `ipc` pipe.
 * Descriptors a peer attaches with SCM_RIGHTS are therefore never installed in this process;
 * the kernel closes them when their bytes are read.
 *
 * While the peer does not read what we send, we stop reading what it sends, so neither
 * direction can make this process buffer without bound.
 */
import type { Socket } from 'node:net';
import { createFrameDecoder, encodeFrame } from './frames.js';
import type { FrameEvent, FrameViolation } from './frames.js';

export interface FrameChannelHandlers {
  /** A decoded message, not yet validated: the caller parses it with its schema (src/ipc/). */
  readonly message: (value: unknown) => void;
  /** The peer broke the framing; the channel is already closed. */
  readonly violation: (violation: FrameViolation) => void;
  /** The peer closed its end (or the socket failed); called once, never after close(). */
  readonly closed: () => void;
}

export interface FrameChannel {
  send(message: unknown): void;
  /** Stops reading and writing; no handler is called afterwards. */
  close(): void;
}

export function openFrameChannel(socket: Socket, handlers: FrameChannelHandlers): FrameChannel {
  const decoder = createFrameDecoder();
  let open = true;
  /** Decoded but not yet delivered: at most one chunk's worth, held while the peer is not reading. */
  let backlog: readonly FrameEvent[] = [];
  let next = 0;
  let waitingForDrain = false;

  const close = (): void => {
    if (!open) return;
    open = false;
    backlog = [];
    socket.destroy();
  };

  const deliver = (): void => {
    while (open && !waitingForDrain && next < backlog.length) {
      const event = backlog[next++];
      if (event === undefined) break;
      if (event.kind === 'message') handlers.message(event.value);
      else {
        close();
        handlers.violation(event.violation);
      }
    }
    if (next >= backlog.length) {
      backlog = [];
      next = 0;
    }
  };

  socket.on('data', (chunk: Buffer) => {
    backlog = [...backlog.slice(next), ...decoder.push(chunk)];
    next = 0;
    deliver();
  });
  const ended = (): void => {
    if (!open) return;
    close();
    handlers.closed();
  };
  socket.on('end', ended);
  socket.on('close', ended);
  // EPIPE, ECONNRESET: the peer is gone, as with 'end'.
  socket.on('error', ended);
  socket.on('drain', () => {
    if (!open) return;
    waitingForDrain = false;
    socket.resume();
    deliver();
  });

  return {
    send(message: unknown): void {
      if (!open) return;
      if (socket.write(encodeFrame(message))) return;
      waitingForDrain = true;
      socket.pause();
    },
    close,
  };
}
