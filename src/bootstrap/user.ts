/** Which unprivileged user the engine runs as (-u, else "miredo" when it exists, else "nobody"). */
import type { PasswdEntry } from '../os/posix.js';

export type UserLookup = (name: string) => PasswdEntry | null;

export type ResolvedUser =
  { readonly ok: true; readonly user: PasswdEntry } | { readonly ok: false; readonly message: string };

export const PREFERRED_USER = 'miredo';
export const FALLBACK_USER = 'nobody';

export const ROOT_USER_REFUSAL =
  'This program is not supposed to keep root privileges. That is potentially very dangerous ' +
  '(all the more as it has never been externally audited). Please use the -u option to ' +
  'select an unprivileged user.';

export function resolveUser(requested: string | null, lookup: UserLookup): ResolvedUser {
  const name = requested ?? (lookup(PREFERRED_USER) !== null ? PREFERRED_USER : FALLBACK_USER);
  const user = lookup(name);
  if (user === null) return { ok: false, message: `User "${name}": User not found` };
  if (user.uid === 0) return { ok: false, message: ROOT_USER_REFUSAL };
  if (user.gid === 0) {
    return {
      ok: false,
      message: `User "${name}" has the root group (gid 0) as its group. ${ROOT_USER_REFUSAL}`,
    };
  }
  return { ok: true, user };
}
