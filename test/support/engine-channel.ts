/**
 * For engine doubles: the framed channel a real spawnEngine() put at fd 3 (IPC_FD in
 * engine-process.ts). They are started with the `--workers=N` argument it passes; without it
 * (loaded by `node --test`) this is null and the double does nothing. The constants are
 * repeated here so that a double does not load piscina and pino before its first message.
 */
import { Socket } from 'node:net';
import { openFrameChannel } from '../../src/ipc/channel.js';
import type { FrameChannel, FrameChannelHandlers } from '../../src/ipc/channel.js';

export const ENGINE_IPC_FD = 3;

function startedAsEngine(): boolean {
  return process.argv.some((argument) => argument.startsWith('--workers='));
}

export function engineDoubleChannel(handlers: FrameChannelHandlers): FrameChannel | null {
  if (!startedAsEngine()) return null;
  return openFrameChannel(new Socket({ fd: ENGINE_IPC_FD, readable: true, writable: true }), handlers);
}
