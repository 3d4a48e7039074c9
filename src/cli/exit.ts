/**
 * Exits once standard error has taken everything written to it: when it is a pipe, Node may
 * still queue messages (a configuration with 150,000 unknown directives is as many lines, its
 * FILE:LINE error last) that process.exit alone would drop. A reader that never drains the pipe
 * delays the exit by at most FLUSH_TIMEOUT_MS.
 */
const FLUSH_TIMEOUT_MS = 10_000;

export function exitAfterStderr(status: number): void {
  const exit = (): void => process.exit(status);
  setTimeout(exit, FLUSH_TIMEOUT_MS);
  process.stderr.write('', exit);
}
