/**
 * The bootstrap's side of replacing a crashed data-plane worker after the engine's chroot:
 * piscina starts a replacement thread by loading its worker script and our data-plane module
 * from their absolute paths, which exist in the jail only if we put them there. So once each
 * engine is ready the bootstrap (root) makes sure a read-only copy of exactly those files is in
 * the jail (jail-program-copy.ts), and when the daemon stops it removes the copy, unless another
 * engine still runs in the same jail (the last one out cleans up).
 *
 * A daemon killed without cleaning up leaves its copy behind; after an upgrade it is a copy of
 * another version, which the copy refuses to reuse. When the jail's manifest lists every
 * differing file (the copy is ours, not the administrator's) and no process other than this
 * daemon's engine runs in the jail ("unknown" counts as occupied: never pull files from under a
 * running engine), those files are removed and the copy made again. The check and the removal
 * are not atomic: an engine of another daemon starting in between could, at worst, fail to
 * replace a worker and restart, as it would without any copy.
 *
 * Without the copy (a read-only or foreign jail, or a crash in the ~100 ms before it is made),
 * the engine treats a worker crash as before: it exits and the bootstrap restarts it.
 */
import type { Logger } from '../log/logger.js';
import { jailOccupants } from './jail-occupants.js';
import type { Occupants } from './jail-occupants.js';
import {
  installProgramCopy,
  programCopyPresent,
  removeProgramCopy,
  removeStaleFiles,
} from './jail-program-copy.js';
import type { CopyResult, RemoveResult } from './jail-program-copy.js';
import { PISCINA_WORKER_FILE, workerProgramFiles } from './jail-program-files.js';
import type { ProgramFiles } from './jail-program-files.js';

export interface JailProgram {
  /**
   * Puts the copy in place if it is not; resolves true when it is. The supervisor calls it once
   * each engine is ready: the copy matters only when a worker fails, so it stays off the path
   * to the first packet, and it is asynchronous so that helper requests are served meanwhile.
   * `engine` is that engine's pid: it runs in the jail but does not make a stale copy "in use".
   */
  refresh(engine: number): Promise<boolean>;
  /** Removes the copy (after any refresh still running), unless another process runs in the jail. */
  release(): Promise<void>;
}

export interface JailProgramOperations {
  readonly files: () => Promise<ProgramFiles>;
  readonly install: (jail: string, files: readonly string[]) => Promise<CopyResult>;
  readonly remove: (jail: string) => Promise<RemoveResult>;
  readonly removeStale: (jail: string, files: readonly string[]) => Promise<RemoveResult>;
  readonly occupants: (jail: string, exclude: ReadonlySet<number>) => Occupants;
}

export const SYSTEM_JAIL_PROGRAM: JailProgramOperations = {
  files: workerProgramFiles,
  install: installProgramCopy,
  remove: removeProgramCopy,
  removeStale: removeStaleFiles,
  occupants: jailOccupants,
};

const FALLBACK = 'a crashed data-plane worker will restart the whole engine';

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Why a stale copy must stay, or null when nobody but `engine` (and we) runs in the jail. */
function inUse(occupants: Occupants): string | null {
  if (!occupants.known) return `cannot tell whether an engine uses it: ${occupants.reason}`;
  if (occupants.pids.length === 0) return null;
  return `in use by process${occupants.pids.length > 1 ? 'es' : ''} ${occupants.pids.join(', ')}`;
}

/** For a jail directory as prepareChrootDir returned it (a real path). */
export function prepareJailProgram(
  jail: string,
  log: Logger,
  ops: JailProgramOperations = SYSTEM_JAIL_PROGRAM,
): JailProgram {
  // Chrooting into / changes nothing: the program is where it always is.
  if (jail === '/') return { refresh: () => Promise.resolve(true), release: () => Promise.resolve() };
  let files: ProgramFiles | null = null;
  let installed = false;
  let warned = false;
  let running: Promise<boolean> | null = null;
  const warn = (message: string): void => {
    if (warned) return;
    warned = true;
    log.warning('Cannot copy the data-plane program into the jail %s: %s; %s', jail, message, FALLBACK);
  };
  const install = async (engine: number): Promise<boolean> => {
    files ??= await ops.files();
    if (!files.ok) {
      warn(files.message);
      return false;
    }
    let result = await ops.install(jail, files.files);
    if (!result.ok && result.stale.length > 0) {
      const stale = result.stale;
      const busy = inUse(ops.occupants(jail, new Set([process.pid, engine])));
      if (busy !== null) {
        warn(`${result.message}; a copy of another version of the program, left in place: ${busy}`);
        return false;
      }
      const removed = await ops.removeStale(jail, stale);
      result = await ops.install(jail, files.files);
      if (result.ok)
        log.notice(
          {
            jail,
            stale: stale.length,
            removed: removed.removed,
            created: result.created,
            reused: result.reused,
          },
          'Replaced a stale program copy in the jail',
        );
    }
    if (!result.ok) {
      warn(result.message);
      return false;
    }
    if (!installed || result.created > 0) {
      log.info(
        { jail, created: result.created, reused: result.reused },
        'Data-plane program copied into the jail (%d files, read-only)',
        files.files.length,
      );
    }
    installed = true;
    warned = false;
    return true;
  };
  return {
    refresh(engine: number): Promise<boolean> {
      running ??= install(engine)
        .catch((error: unknown) => {
          warn(errorText(error));
          return false;
        })
        .finally(() => {
          running = null;
        });
      return running;
    },
    async release(): Promise<void> {
      await running;
      if (!installed) return;
      const others = ops.occupants(jail, new Set([process.pid]));
      if (others.known && others.pids.length > 0) {
        log.info(
          { jail, pids: others.pids },
          'Leaving the data-plane program in the jail: other processes use it',
        );
        return;
      }
      try {
        const removed = await ops.remove(jail);
        log.debug({ jail, ...removed }, 'Data-plane program removed from the jail');
      } catch (error) {
        log.warning('Cannot remove the data-plane program from the jail %s: %s', jail, errorText(error));
      }
    },
  };
}

/**
 * The engine's check when a worker has failed: can a new worker thread load its code? Once the
 * engine is jailed, the paths are looked up inside the jail, where only the copy can provide them.
 */
export function workerProgramVisible(dataplanePath: string): boolean {
  return programCopyPresent('/', [PISCINA_WORKER_FILE, dataplanePath]);
}
