/** Waiting and sending on loopback, for tests that stand UDP sockets in for the kernel's devices. */
import type { Socket } from 'node:dgram';

/** Polls `condition` (for what raises no event, a counter say); throws naming `what` after 10 s. */
export async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Sends `payload` to 127.0.0.1:`port`; resolves once the kernel took it. */
export async function sendTo(socket: Socket, payload: Uint8Array, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) =>
    socket.send(payload, port, '127.0.0.1', (error) => (error ? reject(error) : resolve())),
  );
}
