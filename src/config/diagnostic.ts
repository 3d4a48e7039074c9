/**
 * What the configuration parsers report: every message names the file and line it is about,
 * so that `miredo-checkconf` and the daemons print `miredo.conf:3: BindPort: ...`.
 * Line 0 means "the file as a whole" (unreadable file, required directive missing).
 */
import { z } from 'zod';

export const DiagnosticSchema = z
  .object({
    file: z.string(),
    line: z.number().int().nonnegative(),
    directive: z.string().optional(),
    severity: z.enum(['error', 'warning']),
    message: z.string(),
    /**
     * Set on notices about a valid setting (the deprecated "restricted" relay type): the daemon
     * logs them, but they are not configuration faults, so miredo-checkconf neither prints them
     * nor fails because of them (Miredo's checkconf never reports them either).
     */
    advisory: z.literal(true).optional(),
  })
  .readonly();

export type Diagnostic = z.infer<typeof DiagnosticSchema>;

export type ConfigResult<T> =
  | {
      readonly ok: true;
      readonly config: T;
      readonly warnings: readonly Diagnostic[];
      /** Line at which each field was set in the file; absent for defaults and command-line values. */
      readonly origins?: ConfigOrigins<T>;
    }
  | { readonly ok: false; readonly errors: readonly Diagnostic[]; readonly warnings: readonly Diagnostic[] };

export type ConfigOrigins<T> = { readonly [K in keyof T]?: number };

export function formatDiagnostic(d: Diagnostic): string {
  const directive = d.directive === undefined ? '' : `${d.directive}: `;
  return `${d.file}:${d.line}: ${directive}${d.message}`;
}

/** Stable order by line, so that messages read top to bottom like the file. */
export function byLine(diagnostics: readonly Diagnostic[]): readonly Diagnostic[] {
  return [...diagnostics].sort((a, b) => a.line - b.line);
}

/** Failures checkconf must report: everything except advisory notices. */
export function isFault(d: Diagnostic): boolean {
  return d.advisory !== true;
}
