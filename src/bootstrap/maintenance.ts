/**
 * The bootstrap's side of maintenance (ipc/maintenance-request.ts): reads the maintenance file
 * at start and on each SIGUSR2, and switches the announcer. The state lives here, not in the
 * announcer, so it outlives the announcers a SIGHUP reload replaces.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import type { Logger } from '../log/logger.js';
import {
  MAX_MAINTENANCE_FILE_BYTES,
  maintenanceFilePath,
  parseMaintenanceRequest,
} from '../ipc/maintenance-request.js';
import { errnoText } from './errno-text.js';
import type { Announcer } from './announcer.js';
import { signalDescription, signalNumber } from './signals.js';

/** The file's request: true (maintenance), false (no file), or an error text. */
export function readMaintenanceFile(path: string): boolean | string {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    return errnoText(error);
  }
  try {
    if (!fstatSync(fd).isFile()) return 'not a regular file';
    const buffer = Buffer.alloc(MAX_MAINTENANCE_FILE_BYTES + 1);
    const length = readSync(fd, buffer, 0, buffer.length, 0);
    if (length > MAX_MAINTENANCE_FILE_BYTES) return 'too long';
    const parsed = parseMaintenanceRequest(buffer.subarray(0, length).toString('utf8'));
    return parsed.ok ? true : parsed.error;
  } catch (error) {
    return errnoText(error);
  } finally {
    closeSync(fd);
  }
}

export class MaintenanceSwitch {
  /** null until an announcer first asks (only a relay with an AnnounceTable reads the file). */
  private state: boolean | null = null;
  private readonly path: string;

  constructor(
    pidFile: string,
    private readonly log: Logger,
  ) {
    this.path = maintenanceFilePath(pidFile);
  }

  /** Whether the relay is in maintenance; the first call reads the file (the daemon starting). */
  get on(): boolean {
    if (this.state === null) {
      this.state = this.read(false);
      if (this.state)
        this.log.notice('Starting in maintenance: %s exists; withdrawn until miredo-ctl announce', this.path);
    }
    return this.state;
  }

  /** SIGUSR2: reads the file again and tells the announcer (none: the signal is ignored, as before). */
  signalled(announcer: Announcer | null): void {
    if (announcer === null) {
      this.log.notice('Ignoring signal %d (%s)', signalNumber('SIGUSR2'), signalDescription('SIGUSR2'));
      return;
    }
    this.state = this.read(this.on);
    announcer.setMaintenance(this.state);
  }

  /** An unreadable or invalid file keeps the current state: a typo must not announce a relay. */
  private read(current: boolean): boolean {
    const request = readMaintenanceFile(this.path);
    if (typeof request === 'boolean') return request;
    this.log.error('Maintenance file %s ignored: %s', this.path, request);
    return current;
  }
}
