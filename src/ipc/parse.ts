/** Parsing a message with its schema: errors as values, with at most five issues in the text. */
import type { z } from 'zod';

export type Parsed<T> =
  { readonly ok: true; readonly message: T } | { readonly ok: false; readonly error: string };

export function parseWith<T>(schema: z.ZodType<T>, raw: unknown): Parsed<T> {
  const result = schema.safeParse(raw);
  if (result.success) return { ok: true, message: result.data };
  const error = result.error.issues
    .slice(0, 5)
    .map((issue) => (issue.path.length === 0 ? issue.message : `${issue.path.join('.')}: ${issue.message}`))
    .join('; ');
  return { ok: false, error };
}
