/**
 * What the demo prints: one line per step with the time since the start, colour only on a
 * terminal (and never with NO_COLOR), and the final summary table. Plain text, no JSON.
 */

export type StepStatus = 'ok' | 'failed' | 'skipped';

export interface StepResult {
  readonly title: string;
  readonly status: StepStatus;
  /** The whole story of the step, for its own line. */
  readonly detail: string;
  /** A few words for the summary table. */
  readonly brief: string;
}

const ANSI = {
  green: '\u001b[32m',
  red: '\u001b[31m',
  yellow: '\u001b[33m',
  dim: '\u001b[2m',
  bold: '\u001b[1m',
  reset: '\u001b[0m',
} as const;

type Style = Exclude<keyof typeof ANSI, 'reset'>;

const STATUS_STYLE: Readonly<Record<StepStatus, Style>> = { ok: 'green', failed: 'red', skipped: 'yellow' };
const STATUS_LABEL: Readonly<Record<StepStatus, string>> = { ok: 'ok', failed: 'FAILED', skipped: 'skipped' };

export function wantsColour(stream: { readonly isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  return stream.isTTY === true && env['NO_COLOR'] === undefined;
}

export function formatElapsed(ms: number): string {
  return `[${(ms / 1000).toFixed(2).padStart(6)}s]`;
}

export class DemoOutput {
  constructor(
    private readonly write: (line: string) => void,
    private readonly colour: boolean,
    private readonly startedAt: number = Date.now(),
  ) {}

  private paint(style: Style, text: string): string {
    return this.colour ? `${ANSI[style]}${text}${ANSI.reset}` : text;
  }

  private stamp(): string {
    return formatElapsed(Date.now() - this.startedAt);
  }

  /** A heading or a sentence of explanation, without a time stamp. */
  say(text: string): void {
    this.write(text);
  }

  heading(text: string): void {
    this.write('');
    this.write(this.paint('bold', text));
  }

  /** Something the demo is doing now. */
  info(text: string): void {
    this.write(`${this.stamp()} ${text}`);
  }

  /** What the lab library reports (topology, daemons started, teardown): less prominent. */
  lab(text: string): void {
    this.write(this.paint('dim', `${this.stamp()}   lab: ${text}`));
  }

  step(result: StepResult): void {
    const label = STATUS_LABEL[result.status].padEnd(7);
    this.write(
      `${this.stamp()} ${this.paint(STATUS_STYLE[result.status], label)} ${result.title}: ${result.detail}`,
    );
  }

  /** The table, then one sentence: all worked, which did not, or that a signal cut the demo short. */
  summary(results: readonly StepResult[], interruptedBy: NodeJS.Signals | null = null): void {
    this.heading('Summary');
    const paintStatus = (status: StepStatus, cell: string): string => this.paint(STATUS_STYLE[status], cell);
    if (results.length > 0) for (const line of summaryTable(results, paintStatus)) this.write(line);
    const failed = results.filter((result) => result.status !== 'ok');
    this.write('');
    if (interruptedBy !== null) {
      this.write(
        this.paint(
          'yellow',
          `Interrupted by ${interruptedBy} after ${results.length} steps; the lab has been removed.`,
        ),
      );
      return;
    }
    this.write(
      failed.length === 0
        ? this.paint('green', `All ${results.length} steps worked.`)
        : this.paint(
            'red',
            `${failed.length} of ${results.length} steps did not work: ${failed.map((r) => r.title).join('; ')}.`,
          ),
    );
  }
}

/**
 * The final table: step number, title, result, brief, columns padded to line up. `paintStatus`
 * decorates the result's text only, outside the padding, so colour codes never upset alignment.
 */
export function summaryTable(
  results: readonly StepResult[],
  paintStatus: (status: StepStatus, cell: string) => string = (_status, cell) => cell,
): string[] {
  const header = ['#', 'step', 'result', 'details'];
  const rows = results.map((result, index) => [
    String(index + 1),
    result.title,
    STATUS_LABEL[result.status],
    result.brief,
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const STATUS_COLUMN = 2;
  const format = (cells: readonly string[], status: StepStatus | null): string => {
    const padded = cells.map((cell, column) => {
      const padding = column === cells.length - 1 ? '' : ' '.repeat((widths[column] ?? 0) - cell.length);
      return `${column === STATUS_COLUMN && status !== null ? paintStatus(status, cell) : cell}${padding}`;
    });
    return `  ${padded.join('  ')}`.trimEnd();
  };
  return [
    format(header, null),
    format(
      widths.map((width) => '-'.repeat(width)),
      null,
    ),
    ...rows.map((row, index) => format(row, results[index]?.status ?? null)),
  ];
}
