/**
 * Maintenance (`miredo-ctl withdraw` / `announce`): the relay withdraws its announcement and keeps
 * forwarding what still arrives until told to announce again. The control socket stays
 * read-only, so the request goes the way a drain does, by a signal to the daemon: miredo-ctl
 * writes this file next to the PID file (so only whoever may write there, root, can) and sends
 * SIGUSR2; the bootstrap reads it, checks it with this schema, and withdraws; `announce` removes
 * the file and signals again. The file is the operator's standing intent: a daemon that starts
 * while it exists starts withdrawn.
 */
import { z } from 'zod';
import { parseWith } from './parse.js';
import type { Parsed } from './parse.js';

/** A request is a line of JSON; anything longer is not one. */
export const MAX_MAINTENANCE_FILE_BYTES = 1024;

/** The maintenance file of the daemon whose PID file is `pidFile`: its `.pid` suffix becomes `.maintenance`. */
export function maintenanceFilePath(pidFile: string): string {
  return `${pidFile.endsWith('.pid') ? pidFile.slice(0, -'.pid'.length) : pidFile}.maintenance`;
}

export const maintenanceRequestSchema = z
  .object({
    maintenance: z.literal(true),
    /** When it was asked for (ISO 8601), for the log. */
    since: z
      .string()
      .max(40)
      .regex(/^[\x20-\x7e]*$/),
  })
  .strict();

export type MaintenanceRequest = z.infer<typeof maintenanceRequestSchema>;

export function parseMaintenanceRequest(text: string): Parsed<MaintenanceRequest> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, error: 'not JSON' };
  }
  return parseWith(maintenanceRequestSchema, raw, true);
}
