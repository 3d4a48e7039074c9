/** strerror(3)-like texts for the errors a daemon start reports to the user. */
import { getSystemErrorMap } from 'node:util';

export function errnoText(error: unknown): string {
  if (error instanceof Error) {
    const { errno, code } = error as NodeJS.ErrnoException;
    if (typeof errno === 'number') {
      const map = getSystemErrorMap();
      const text = (map.get(errno) ?? map.get(-errno))?.[1];
      if (text !== undefined) return text.charAt(0).toUpperCase() + text.slice(1);
    }
    if (typeof code === 'string') {
      for (const [, [name, text]] of getSystemErrorMap()) {
        if (name === code) return text.charAt(0).toUpperCase() + text.slice(1);
      }
    }
    return error.message;
  }
  return String(error);
}
