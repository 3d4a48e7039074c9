/** One data-plane worker's packet loop, prepared (buffers allocated) but reading nothing until start(). */
export interface DataplaneLoop {
  /** Starts watching the descriptors: the first read can only come after this. Once; later calls do nothing. */
  start(): void;
  /** Stops every watcher; no I/O happens afterwards, and start() does nothing any more. Idempotent. */
  stop(): void;
}
