/** The two privilege-dropping calls the posix package lacks. */
import { native } from './native.js';
import { hinted } from './os-error.js';

/** setgroups(0, NULL): no supplementary groups (process-wide). Needs root / CAP_SETGID. */
export function setGroupsEmpty(): void {
  hinted({ EPERM: 'needs root / CAP_SETGID' }, () => native.setGroupsEmpty());
}

/**
 * prctl(PR_SET_NO_NEW_PRIVS, 1): execve can no longer grant privileges (setuid bits, file
 * capabilities). The kernel sets it on the CALLING THREAD only, and threads or processes it
 * creates afterwards inherit it: worker threads started earlier must call it themselves.
 */
export function setNoNewPrivs(): void {
  native.setNoNewPrivs();
}
