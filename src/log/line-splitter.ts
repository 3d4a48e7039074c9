/**
 * Splits a byte stream into lines with a bound on line length: an over-long line is cut at
 * the bound and the rest of it dropped, so a runaway writer cannot make the reader buffer
 * without limit.
 */
import { StringDecoder } from 'node:string_decoder';
import { MAX_LOG_LINE } from './record.js';

export interface LineSplitter {
  push(chunk: Buffer | string): void;
  /** Emits what is left after the stream ended. */
  end(): void;
}

export function createLineSplitter(onLine: (line: string) => void, maxLength = MAX_LOG_LINE): LineSplitter {
  let pending = '';
  let discarding = false;
  // Keeps a UTF-8 sequence split across two chunks whole.
  const decoder = new StringDecoder('utf8');
  return {
    push(chunk: Buffer | string): void {
      const text = typeof chunk === 'string' ? chunk : decoder.write(chunk);
      let start = 0;
      for (;;) {
        const newline = text.indexOf('\n', start);
        const piece = newline === -1 ? text.slice(start) : text.slice(start, newline);
        if (!discarding) {
          pending += piece;
          if (pending.length > maxLength) {
            onLine(pending.slice(0, maxLength));
            pending = '';
            discarding = newline === -1;
          }
        }
        if (newline === -1) return;
        if (discarding) discarding = false;
        else {
          if (pending.length > 0) onLine(pending);
          pending = '';
        }
        start = newline + 1;
      }
    },
    end(): void {
      if (!discarding && pending.length > 0) onLine(pending);
      pending = '';
      discarding = false;
    },
  };
}
