/**
 * The work both configuration files share: tokenize, read directives through their value
 * schemas (first occurrence wins), collect diagnostics with their lines, report leftovers.
 */
import type { z } from 'zod';
import { byLine } from './diagnostic.js';
import type { ConfigOrigins, ConfigResult, Diagnostic } from './diagnostic.js';
import { DirectiveList } from './directive-list.js';
import { tokenizeConf } from './tokenize.js';
import type { ConfigEntry } from './tokenize.js';
import { issueMessage } from './values.js';

export type Setting<T> =
  | { readonly kind: 'absent' }
  | { readonly kind: 'invalid' }
  | { readonly kind: 'set'; readonly value: T; readonly entry: ConfigEntry };

type ValueSchema = z.ZodType<unknown, string>;

/** Where values given on the command line are reported. */
export const COMMAND_LINE = '(command line)';

export class SettingReader {
  private readonly directives: DirectiveList;
  private readonly diagnostics: Diagnostic[];

  constructor(
    readonly file: string,
    text: string,
  ) {
    const tokenized = tokenizeConf(text, file);
    this.directives = new DirectiveList(tokenized.entries);
    this.diagnostics = [...tokenized.diagnostics];
  }

  /**
   * Reads the first `directive` through `schema`. An invalid value is reported with
   * `severity` (an error unless the caller falls back to a default, as for SyslogFacility).
   */
  read<S extends ValueSchema>(
    directive: string,
    schema: S,
    severity: Diagnostic['severity'] = 'error',
  ): Setting<z.output<S>> {
    const entry = this.directives.take(directive);
    if (entry === undefined) return { kind: 'absent' };
    const parsed = schema.safeParse(entry.value);
    if (parsed.success) return { kind: 'set', value: parsed.data, entry };
    this.report(entry.line, entry.name, severity, issueMessage(parsed.error));
    return { kind: 'invalid' };
  }

  /** Reads every occurrence of a repeatable `directive`, in file order; invalid values are errors. */
  readAll<S extends ValueSchema>(
    directive: string,
    schema: S,
  ): { readonly value: z.output<S>; readonly entry: ConfigEntry }[] {
    const values: { value: z.output<S>; entry: ConfigEntry }[] = [];
    for (const entry of this.directives.takeAll(directive)) {
      const parsed = schema.safeParse(entry.value);
      if (parsed.success) values.push({ value: parsed.data, entry });
      else this.report(entry.line, entry.name, 'error', issueMessage(parsed.error));
    }
    return values;
  }

  /** Parses a value given on the command line instead of in the file. */
  readArgument<S extends ValueSchema>(name: string, text: string, schema: S): z.output<S> | undefined {
    const parsed = schema.safeParse(text);
    if (parsed.success) return parsed.data;
    this.diagnostics.push({
      file: COMMAND_LINE,
      line: 0,
      directive: name,
      severity: 'error',
      message: issueMessage(parsed.error),
    });
    return undefined;
  }

  report(line: number, directive: string, severity: Diagnostic['severity'], message: string): void {
    this.diagnostics.push({ file: this.file, line, directive, severity, message });
  }

  advise(entry: ConfigEntry, message: string): void {
    this.diagnostics.push({
      file: this.file,
      line: entry.line,
      directive: entry.name,
      severity: 'warning',
      message,
      advisory: true,
    });
  }

  /** Errors and warnings so far, without the superfluous-directive report. */
  fail<T>(): ConfigResult<T> {
    return { ok: false, ...this.split() };
  }

  /**
   * Reports leftover directives (see DirectiveList.superfluous), then builds the result:
   * `build` runs only when there was no error.
   */
  finish<T>(
    notRead: ReadonlyMap<string, string>,
    build: () => { config: T; origins: ConfigOrigins<T> },
  ): ConfigResult<T> {
    // Not push(...list): a file of 150,000 unknown directives would overflow the call stack.
    for (const diagnostic of this.directives.superfluous(notRead)) this.diagnostics.push(diagnostic);
    const { errors, warnings } = this.split();
    if (errors.length > 0) return { ok: false, errors, warnings };
    return { ok: true, warnings, ...build() };
  }

  private split(): { errors: readonly Diagnostic[]; warnings: readonly Diagnostic[] } {
    return {
      errors: byLine(this.diagnostics.filter((d) => d.severity === 'error')),
      warnings: byLine(this.diagnostics.filter((d) => d.severity === 'warning')),
    };
  }
}
