/**
 * The demo's one lab: created once, its progress shown while it is built and torn down (not
 * while the steps speak for themselves), and removed by teardown() whatever state it is in -
 * even when a signal came while createLab() was still building it.
 */
import { createLab } from './lab/index.js';
import type { Lab, LabProgress, LabSpec } from './lab/index.js';
import type { DemoOutput } from './demo-output.js';

export class DemoSession {
  private creation: Promise<Lab> | null = null;
  private lab: Lab | null = null;
  /** Whether the lab's own progress lines are printed. */
  labChatter = true;

  constructor(private readonly output: DemoOutput) {}

  createLab(spec: LabSpec): Promise<Lab> {
    if (this.creation !== null) throw new Error('the demo builds one lab only');
    this.creation = createLab({ ...spec, onProgress: (event) => this.progress(event) });
    this.creation.then(
      (lab) => (this.lab = lab),
      () => undefined,
    );
    return this.creation;
  }

  /** Stops every daemon and capture and removes the namespaces and files; safe to call twice. */
  async teardown(): Promise<void> {
    if (this.creation === null) return;
    this.labChatter = true;
    // A lab whose creation failed has already removed itself.
    const lab = await this.creation.catch(() => null);
    await lab?.destroy();
  }

  /** What every daemon printed (kept after teardown), for a failure report. */
  transcripts(): string {
    return this.lab?.transcripts() ?? '';
  }

  private progress(event: LabProgress): void {
    if (!this.labChatter) return;
    this.output.lab(event.node === null ? event.message : `${event.node}: ${event.message}`);
  }
}
