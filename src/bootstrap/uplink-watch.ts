/**
 * The host's IPv4 uplink, watched for a client (issue: Miredo needs Debian's if-up hook and a
 * SIGHUP for this): a link going down or up, an IPv4 address or the default route added or
 * removed. Changes are debounced (QUIET_MS after the last, at most MAX_DELAY_MS after the first:
 * one DHCP lease is several notifications) and then reported once; the supervisor asks the
 * engine to qualify again. The daemon's own interfaces are left out.
 */
import type { Logger } from '../log/logger.js';
import { scanRouteMessages } from '../os/netlink-route.js';
import type { UplinkChange } from '../os/netlink-route.js';
import type { RouteMonitor } from '../os/route-monitor.js';

export const QUIET_MS = 300;
export const MAX_DELAY_MS = 1500;

export interface UplinkWatchOptions {
  /** Opens the kernel's notifications (route-monitor.ts; tests pass a fake). */
  readonly open: (
    onDatagram: (bytes: Uint8Array, length: number) => void,
    onLost: (code: string) => void,
  ) => RouteMonitor;
  /** Interfaces whose changes do not count (the tunnel). */
  readonly ignored: (ifindex: number) => boolean;
  readonly onChange: (changes: readonly string[]) => void;
  readonly log: Logger;
  readonly timers?: Pick<typeof globalThis, 'setTimeout' | 'clearTimeout'>;
  readonly now?: () => number;
}

export interface UplinkWatch {
  stop(): void;
}

const describeChange = (change: UplinkChange): string =>
  `${change.kind} ${change.added ? (change.kind === 'link' ? 'up' : 'added') : change.kind === 'link' ? 'down' : 'removed'} (ifindex ${change.ifindex})`;

/** Starts watching; a socket that cannot be opened is logged and leaves the daemon as it was. */
export function watchUplink(options: UplinkWatchOptions): UplinkWatch {
  const { log } = options;
  const timers = options.timers ?? globalThis;
  const now = options.now ?? (() => performance.now());
  let pending: string[] = [];
  let firstAt = 0;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let malformed = 0;

  const flush = (): void => {
    timer = null;
    const changes = pending;
    pending = [];
    options.onChange(changes);
  };
  const note = (what: readonly string[]): void => {
    if (pending.length === 0) firstAt = now();
    pending.push(...what.slice(0, 16 - Math.min(16, pending.length)));
    if (timer !== null) timers.clearTimeout(timer);
    const wait = Math.max(0, Math.min(QUIET_MS, firstAt + MAX_DELAY_MS - now()));
    timer = timers.setTimeout(flush, wait);
  };

  let monitor: RouteMonitor | null = null;
  try {
    monitor = options.open(
      (bytes, length) => {
        const scan = scanRouteMessages(bytes, length, options.ignored);
        if (scan.malformed > 0) {
          malformed += scan.malformed;
          log.warning({ malformed }, 'Malformed network change notification ignored');
        }
        if (scan.overrun) note(['notifications lost']);
        if (scan.changes.length > 0) note(scan.changes.map(describeChange));
      },
      (code) => note([`notifications lost (${code})`]),
    );
  } catch (error) {
    log.warning('Not watching network changes: %s', error instanceof Error ? error.message : String(error));
  }
  return {
    stop(): void {
      if (timer !== null) timers.clearTimeout(timer);
      timer = null;
      monitor?.stop();
      monitor = null;
    },
  };
}
