/**
 * Ctrl-C and SIGTERM for the demo: the first signal interrupts the running step (everything
 * awaited through race() rejects with InterruptedError) so the demo can tear its lab down; a
 * second one asks for the forced way out.
 */
import { constants } from 'node:os';

export class InterruptedError extends Error {
  constructor(readonly signal: NodeJS.Signals) {
    super(`interrupted by ${signal}`);
    this.name = 'InterruptedError';
  }
}

export interface InterruptHandlers {
  /** The first signal: the demo should wind down (race() already rejects). */
  onFirst(signal: NodeJS.Signals): void;
  /** Any later signal: the demo should leave now. */
  onAgain(signal: NodeJS.Signals): void;
}

export const DEMO_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

/** The shell's convention: 128 + the signal number (130 for SIGINT, 143 for SIGTERM). */
export function exitCodeFor(signal: NodeJS.Signals): number {
  return 128 + constants.signals[signal];
}

export class Interruption {
  private received: NodeJS.Signals | null = null;
  private rejectInterrupted: (error: InterruptedError) => void = () => undefined;
  private readonly interrupted: Promise<never>;

  constructor() {
    this.interrupted = new Promise<never>((_resolve, reject) => {
      this.rejectInterrupted = reject;
    });
    // Nobody may be racing at the moment the signal comes; that is not an unhandled rejection.
    this.interrupted.catch(() => undefined);
  }

  /** The first signal received, or null. */
  get signal(): NodeJS.Signals | null {
    return this.received;
  }

  /** `work`'s outcome, unless a signal comes first: then InterruptedError. */
  race<T>(work: Promise<T>): Promise<T> {
    return Promise.race([work, this.interrupted]);
  }

  /** Throws InterruptedError if a signal came. */
  check(): void {
    if (this.received !== null) throw new InterruptedError(this.received);
  }

  /** Records a signal; true for the first one. */
  trigger(signal: NodeJS.Signals): boolean {
    if (this.received !== null) return false;
    this.received = signal;
    this.rejectInterrupted(new InterruptedError(signal));
    return true;
  }

  /** Listens for `signals` on the process; returns a function that stops listening. */
  install(handlers: InterruptHandlers, signals: readonly NodeJS.Signals[] = DEMO_SIGNALS): () => void {
    const listener = (signal: NodeJS.Signals): void => {
      if (this.trigger(signal)) handlers.onFirst(signal);
      else handlers.onAgain(signal);
    };
    for (const signal of signals) process.on(signal, listener);
    return () => {
      for (const signal of signals) process.off(signal, listener);
    };
  }
}
