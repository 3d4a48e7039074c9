/**
 * What the engine does with the descriptors `init` brings: which ones it keeps (the rest of what
 * it inherited is closed), and how they are dealt out to the data-plane workers.
 */
import { CHANNEL_FD } from '../ipc/engine-launch.js';
import type { InitMessage } from '../ipc/bootstrap-engine-messages.js';
import type { DataplaneTask, DirIdentity } from '../ipc/engine-worker-messages.js';

/** The descriptors that may cross from the bootstrap: stdio, the channel, those of `init`. */
export function keptDescriptors(message: InitMessage): ReadonlySet<number> {
  const { tun, udp, raw, discovery, control, metrics, jailer } = message.fds;
  const others = [raw, discovery, control, metrics, jailer].filter(
    (one) => one !== null && one !== undefined,
  );
  return new Set([CHANNEL_FD, ...tun, ...udp, ...others]);
}

/** Each worker's task: its descriptors, the shared table and counters, the jail's identity. */
export function dataplaneTasks(
  message: InitMessage,
  counters: SharedArrayBuffer,
  shared: SharedArrayBuffer | null,
  jail: DirIdentity,
  heartbeat: SharedArrayBuffer | undefined,
): DataplaneTask[] {
  const { fds, config } = message;
  return Array.from({ length: message.poolSize }, (_, workerIndex) => {
    const udpFd = fds.udp[workerIndex];
    return {
      workerIndex,
      config,
      tunFd: fds.tun[workerIndex] ?? null,
      // The server's single worker serves both of its sockets.
      udpFds: config.role === 'server' ? [...fds.udp] : udpFd === undefined ? [] : [udpFd],
      rawFd: fds.raw,
      counters,
      shared,
      jail,
      ...(heartbeat === undefined ? {} : { heartbeat }),
    };
  });
}
