/** A running packet loop of one data-plane worker. */
export interface DataplaneLoop {
  /** Stops every watcher; no I/O happens afterwards. Idempotent. */
  stop(): void;
}
