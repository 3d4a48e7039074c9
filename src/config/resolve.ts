/**
 * Host name to IPv4 address, through the system resolver (getaddrinfo, like Miredo), so that
 * /etc/hosts and numeric forms such as `127.1` behave the same. Failures are values.
 */
import { lookup } from 'node:dns/promises';
import { isIPv6 } from 'node:net';

export type ResolveResult =
  | { readonly ok: true; readonly address: string }
  | { readonly ok: false; readonly code: string; readonly message: string };

const REASONS: ReadonlyMap<string, string> = new Map([
  ['ENOTFOUND', 'host not found'],
  ['ENODATA', 'host has no IPv4 address'],
  ['EAI_AGAIN', 'temporary failure in name resolution'],
  ['EAI_FAIL', 'name resolution failed'],
]);

export async function resolveIPv4(name: string): Promise<ResolveResult> {
  if (name === '') return { ok: false, code: 'EINVAL', message: 'empty host name' };
  // Node answers IP literals itself, even an IPv6 one to a family-4 query. The colon test first:
  // isIPv6's first call compiles a large regular expression (9 ms here, on every daemon start).
  if (name.includes(':') && isIPv6(name))
    return { ok: false, code: 'EAI_ADDRFAMILY', message: 'not an IPv4 address' };
  try {
    const { address, family } = await lookup(name, { family: 4 });
    if (family !== 4) return { ok: false, code: 'EAI_ADDRFAMILY', message: 'not an IPv4 address' };
    return { ok: true, address };
  } catch (error) {
    return resolveFailure(error);
  }
}

/** A resolver's error as a value, with getaddrinfo's reasons as Miredo words them. */
export function resolveFailure(error: unknown): {
  readonly ok: false;
  readonly code: string;
  readonly message: string;
} {
  const code = (error as NodeJS.ErrnoException).code ?? 'UNKNOWN';
  const message = REASONS.get(code) ?? (error instanceof Error ? error.message : String(error));
  return { ok: false, code, message };
}
