/**
 * For engine doubles: the framed channel a real spawnEngine() put at CHANNEL_FD. They are started
 * with the `--workers=N` argument it passes; without it (loaded by `node --test`) this is null
 * and the double does nothing. engine-launch.ts imports nothing, so a double loads no more than
 * the channel before its first message.
 */
import { Socket } from 'node:net';
import { openFrameChannel } from '../../src/ipc/channel.js';
import type { FrameChannel, FrameChannelHandlers } from '../../src/ipc/channel.js';
import { CHANNEL_FD, WORKERS_ARGUMENT } from '../../src/ipc/engine-launch.js';

export const ENGINE_IPC_FD = CHANNEL_FD;

function startedAsEngine(): boolean {
  return process.argv.some((argument) => argument.startsWith(WORKERS_ARGUMENT));
}

export function engineDoubleChannel(handlers: FrameChannelHandlers): FrameChannel | null {
  if (!startedAsEngine()) return null;
  return openFrameChannel(new Socket({ fd: ENGINE_IPC_FD, readable: true, writable: true }), handlers);
}
