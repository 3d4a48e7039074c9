/** Waiting for descriptors in scenarios, with the readiness API under test. */
import { watchReadable } from '../../../src/os/readiness.js';

/** Resolves on the next readable callback (with its status), then stops watching. */
export function nextReadable(fd: number): Promise<number> {
  return new Promise((resolve) => {
    const watch = watchReadable(fd, (status) => {
      watch.stop();
      resolve(status);
    });
  });
}

/** Lets the event loop run `turns` full iterations (poll phase included). */
export async function loopTurns(turns: number): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
