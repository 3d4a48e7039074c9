/**
 * Running the demo's steps: each prints its line as soon as it ends and goes into the summary.
 * A step that throws is failed with the first line of its error (the rest is kept for the
 * report at the end); a signal interrupts the step, which is then neither printed nor counted.
 */
import type { DemoOutput, StepResult, StepStatus } from './demo-output.js';
import { InterruptedError } from './demo-interrupt.js';
import type { Interruption } from './demo-interrupt.js';

export interface StepOutcome<T> {
  readonly ok: boolean;
  readonly detail: string;
  readonly brief: string;
  /** What later steps need (an address, say), even when the step itself is judged failed. */
  readonly value: T;
  /** More about a failed step (a ping's own output, say), for the report at the end. */
  readonly report?: string;
}

export interface StepFailure {
  readonly title: string;
  /** The full error text (a daemon's transcript, say). */
  readonly text: string;
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function firstLine(text: string): string {
  return text.split('\n', 1)[0] ?? '';
}

export class StepRunner {
  readonly results: StepResult[] = [];
  readonly failures: StepFailure[] = [];

  constructor(
    private readonly output: DemoOutput,
    private readonly interruption: Interruption,
  ) {}

  /** The step's value, or null when it threw. Rethrows InterruptedError. */
  async run<T>(title: string, body: () => Promise<StepOutcome<T>>): Promise<T | null> {
    this.interruption.check();
    try {
      const outcome = await this.interruption.race(body());
      this.interruption.check();
      this.record(title, outcome.ok ? 'ok' : 'failed', outcome.detail, outcome.brief);
      if (!outcome.ok) this.failures.push({ title, text: outcome.report ?? outcome.detail });
      return outcome.value;
    } catch (error) {
      if (error instanceof InterruptedError) throw error;
      // A signal that arrived while the step failed (a ping killed by Ctrl-C) is the real story.
      this.interruption.check();
      const text = errorText(error);
      this.failures.push({ title, text });
      this.record(title, 'failed', firstLine(text), firstLine(text));
      return null;
    }
  }

  /** A step that cannot run because an earlier one did not work. */
  skip(title: string, reason: string): void {
    this.interruption.check();
    this.record(title, 'skipped', reason, reason);
  }

  get allOk(): boolean {
    return this.results.every((result) => result.status === 'ok');
  }

  private record(title: string, status: StepStatus, detail: string, brief: string): void {
    const result: StepResult = { title, status, detail, brief };
    this.results.push(result);
    this.output.step(result);
  }
}
