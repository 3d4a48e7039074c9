/** What a lab tells its user while it works: one plain sentence per step. */

export interface LabProgress {
  /** Milliseconds since the lab was created. */
  readonly elapsedMs: number;
  /** The node the step is about, when there is one. */
  readonly node: string | null;
  readonly message: string;
}

export type ProgressListener = (event: LabProgress) => void;

export function formatProgress(event: LabProgress): string {
  const seconds = (event.elapsedMs / 1000).toFixed(2).padStart(6);
  return event.node === null
    ? `[${seconds}s] ${event.message}`
    : `[${seconds}s] ${event.node}: ${event.message}`;
}
