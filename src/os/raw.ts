/** The Teredo server's raw IPv6 socket (it forwards whole IPv6 packets it builds itself). */
import { native } from './native.js';
import { hinted } from './os-error.js';

/** socket(AF_INET6, SOCK_RAW, IPPROTO_RAW): non-blocking, close-on-exec; packets include the IPv6 header. */
export function openRaw6(): number {
  return hinted({ EPERM: 'needs root / CAP_NET_RAW', EACCES: 'needs root / CAP_NET_RAW' }, () =>
    native.openRaw6(),
  );
}
