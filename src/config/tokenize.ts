/**
 * Miredo's configuration syntax (reference section 3.1): one directive per line, written as
 * two whitespace-separated tokens, a name and a value; further tokens are ignored (so trailing
 * `# comments` work); a line whose first token starts with `#` is a comment. Limits follow
 * Miredo's fixed buffers: 1054 bytes per line, 31 per name, 1023 per value.
 *
 * Fixed on purpose: Miredo skips a last line that lacks its newline (as "overly long"); it is
 * parsed here. A line holding a NUL byte is skipped with a warning here, whereas Miredo also
 * swallows the line after it.
 */
import type { Diagnostic } from './diagnostic.js';

/** Miredo reads lines with fgets into 1056 bytes: 1054 of text, the newline and a NUL. */
export const MAX_LINE_BYTES = 1054;
export const MAX_NAME_BYTES = 31;
export const MAX_VALUE_BYTES = 1023;

export interface ConfigEntry {
  readonly file: string;
  readonly line: number;
  /** As written, for messages. */
  readonly name: string;
  /** ASCII lower case: names are matched case-insensitively, like strcasecmp. */
  readonly key: string;
  readonly value: string;
}

export interface TokenizedConf {
  readonly entries: readonly ConfigEntry[];
  readonly diagnostics: readonly Diagnostic[];
}

/** C's isspace() in the C locale: the only separators Miredo's sscanf knows. */
const C_WHITESPACE = /[ \t\n\v\f\r]+/;

export function asciiLowerCase(text: string): string {
  return text.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
}

function byteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

export function tokenizeConf(text: string, file: string): TokenizedConf {
  const entries: ConfigEntry[] = [];
  const diagnostics: Diagnostic[] = [];
  const lines = text.split('\n');
  // A final newline ends the last line rather than starting an empty one.
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();

  lines.forEach((content, index) => {
    const line = index + 1;
    const warn = (message: string, directive?: string): void => {
      diagnostics.push({ file, line, severity: 'warning', message, ...(directive ? { directive } : {}) });
    };

    if (byteLength(content) > MAX_LINE_BYTES) {
      warn(`line is longer than ${MAX_LINE_BYTES} bytes; skipped`);
      return;
    }
    if (content.includes('\0')) {
      warn('line contains a NUL byte; skipped');
      return;
    }
    const tokens = content.split(C_WHITESPACE).filter((token) => token !== '');
    const [name, value] = tokens;
    if (name === undefined || name.startsWith('#')) return;

    if (byteLength(name) > MAX_NAME_BYTES) {
      warn(`directive name is longer than ${MAX_NAME_BYTES} characters; line ignored`, name);
      return;
    }
    if (value === undefined) {
      warn('directive without a value; line ignored', name);
      return;
    }
    if (byteLength(value) > MAX_VALUE_BYTES) {
      diagnostics.push({
        file,
        line,
        directive: name,
        severity: 'error',
        message: `value is longer than ${MAX_VALUE_BYTES} characters`,
      });
      return;
    }
    entries.push({ file, line, name, key: asciiLowerCase(name), value });
  });

  return { entries, diagnostics };
}
