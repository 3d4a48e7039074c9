/**
 * `miredo-ctl withdraw` and `miredo-ctl announce`: maintenance of a relay with an AnnounceTable
 * (ipc/maintenance-request.ts). withdraw writes the maintenance file next to the PID file and
 * sends SIGUSR2: the relay withdraws its route and keeps running, forwarding what still arrives.
 * announce removes the file and signals again: the route comes back once the data plane works
 * (and any hold-down after an ill-health withdrawal is over). Both wait until the daemon's
 * status shows the change. Writing there and signalling the daemon takes root, as drain does.
 */
import { renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { controlSocketPath } from '../ipc/control-protocol.js';
import type { ControlStatus } from '../ipc/control-protocol.js';
import { maintenanceFilePath } from '../ipc/maintenance-request.js';
import type { MaintenanceRequest } from '../ipc/maintenance-request.js';
import { CTL_EXIT, queryDaemon } from './ctl-client.js';
import { readPid } from './ctl-drain.js';
import type { DrainOutcome } from './ctl-drain.js';

/** The bootstrap reads the file at once; its engine learns within a few ms. */
const CONFIRM_TIMEOUT_MS = 5000;
const POLL_MS = 100;

type Announcement = NonNullable<ControlStatus['announcement']>;

async function announcementOf(pidFile: string): Promise<Announcement | DrainOutcome> {
  const result = await queryDaemon(controlSocketPath(pidFile), { command: 'status' });
  if (!result.ok) return { status: result.status, message: result.message };
  if (result.reply.kind !== 'status') return { status: CTL_EXIT.failed, message: 'unexpected reply' };
  const announcement = result.reply.status.announcement;
  if (announcement === undefined)
    return { status: CTL_EXIT.failed, message: 'not a relay with an AnnounceTable: nothing to withdraw' };
  return announcement;
}

const isOutcome = (value: Announcement | DrainOutcome): value is DrainOutcome => 'status' in value;

function writeRequest(path: string, on: boolean): DrainOutcome | null {
  try {
    if (on) {
      const request: MaintenanceRequest = { maintenance: true, since: new Date().toISOString() };
      writeFileSync(`${path}.new`, `${JSON.stringify(request)}\n`, { mode: 0o644 });
      renameSync(`${path}.new`, path);
    } else unlinkSync(path);
    return null;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !on) return null;
    if (code === 'EACCES' || code === 'EPERM')
      return { status: CTL_EXIT.permissionDenied, message: `${path}: permission denied (root only)` };
    return { status: CTL_EXIT.failed, message: `${path}: ${(error as Error).message}` };
  }
}

function describe(announcement: Announcement): string {
  const state = announcement.announced ? 'announced' : 'withdrawn';
  return `${state} (table ${announcement.table}): ${announcement.reason}`;
}

export async function setMaintenance(
  pidFile: string,
  on: boolean,
  write: (line: string) => void,
): Promise<DrainOutcome> {
  const before = await announcementOf(pidFile);
  if (isOutcome(before)) return before;
  const pid = readPid(pidFile);
  if (typeof pid === 'string') return { status: CTL_EXIT.notRunning, message: pid };
  const written = writeRequest(maintenanceFilePath(pidFile), on);
  if (written !== null) return written;
  try {
    process.kill(pid, 'SIGUSR2');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'EPERM'
      ? { status: CTL_EXIT.permissionDenied, message: `pid ${pid}: permission denied (root only)` }
      : { status: CTL_EXIT.notRunning, message: `pid ${pid}: the daemon is not running (${code ?? '?'})` };
  }
  const start = Date.now();
  for (;;) {
    await sleep(POLL_MS);
    const now = await announcementOf(pidFile);
    if (isOutcome(now)) return now;
    if ((now.maintenance ?? false) === on && !(on && now.announced)) {
      write(`${on ? 'Maintenance' : 'Maintenance over'}: ${describe(now)}\n`);
      return { status: CTL_EXIT.ok, message: '' };
    }
    if (Date.now() - start > CONFIRM_TIMEOUT_MS)
      return { status: CTL_EXIT.failed, message: `pid ${pid} did not take the request: ${describe(now)}` };
  }
}
