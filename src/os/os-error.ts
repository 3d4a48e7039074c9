/**
 * Errors from the addon look like Node's own (`code` = errno name, `errno`, `syscall`); the
 * wrappers append a hint for the causes an administrator can fix, keyed by errno name.
 */
export type ErrnoHints = Readonly<Record<string, string>>;

export const NEEDS_NET_ADMIN = 'needs root / CAP_NET_ADMIN';

/** Appends hints[error.code] to the message of an errno-style error; anything else is returned as is. */
export function withHint(error: unknown, hints: ErrnoHints): unknown {
  if (!(error instanceof Error)) return error;
  const code: unknown = (error as NodeJS.ErrnoException).code;
  const hint = typeof code === 'string' && Object.hasOwn(hints, code) ? hints[code] : undefined;
  if (hint !== undefined) error.message = `${error.message}: ${hint}`;
  return error;
}

/** Runs a native call, adding a hint to what it throws. */
export function hinted<T>(hints: ErrnoHints, call: () => T): T {
  try {
    return call();
  } catch (error) {
    throw withHint(error, hints);
  }
}
