/**
 * miredo-ctl's command line: `miredo-ctl [-p PIDFILE] [--json] COMMAND [--filter PREFIX]
 * [--limit N]`, read with node:util's parseArgs and checked with zod.
 */
import { parseArgs } from 'node:util';
import { z } from 'zod';
import {
  DEFAULT_PEER_LIMIT,
  MAX_PEER_LIMIT,
  controlCommands,
  parsePeerFilter,
} from '../ipc/control-protocol.js';
import type { ControlRequest } from '../ipc/control-protocol.js';

/** Where miredo keeps its PID file (miredo-server: /var/run/miredo-server.pid). */
export const DEFAULT_CTL_PID_FILE = '/var/run/miredo.pid';

export const CTL_USAGE =
  'Usage: miredo-ctl [-p PIDFILE] [--json] COMMAND\n' +
  'Shows the state of a running miredo or miredo-server (read-only), drains a relay or\n' +
  'withdraws it for maintenance.\n\n' +
  'Commands:\n' +
  '  status                    role, interface, address, NAT type, servers, uptime\n' +
  '  peers [-F PREFIX] [-n N]  the peer table, filtered by address prefix, at most N rows\n' +
  `                            (default ${DEFAULT_PEER_LIMIT}, at most ${MAX_PEER_LIMIT})\n` +
  '  counters                  packet counters (accepted, dropped by reason)\n' +
  '  metrics                   the Prometheus text format (node_exporter textfile collector)\n' +
  '  drain                     stop gracefully (SIGTERM, root only) and wait: a relay with an\n' +
  '                            AnnounceTable withdraws, forwards for its DrainTime, then stops\n' +
  '  withdraw                  maintenance (root only): a relay with an AnnounceTable withdraws\n' +
  '                            its route and keeps running, until announce\n' +
  '  announce                  end maintenance: the route comes back once the relay is healthy\n\n' +
  'Options:\n' +
  `  -p, --pidfile PIDFILE     the daemon's PID file (default ${DEFAULT_CTL_PID_FILE});\n` +
  '                            its control socket is the same name ending in .ctl\n' +
  '  -j, --json                print the reply as JSON (status, peers, counters)\n' +
  '  -F, --filter PREFIX       peers: an IPv6 address or ADDRESS/LENGTH\n' +
  '  -n, --limit N             peers: at most N rows\n' +
  '  -h, --help                display this help and exit\n' +
  '  -V, --version             display program version and exit\n';

export type CtlArgs =
  | { readonly action: 'help' | 'version' }
  | { readonly action: 'drain' | 'withdraw' | 'announce'; readonly pidFile: string }
  | {
      readonly action: 'run';
      readonly pidFile: string;
      readonly json: boolean;
      readonly request: ControlRequest;
    };

export type CtlArgsResult =
  { readonly ok: true; readonly args: CtlArgs } | { readonly ok: false; readonly error: string };

const valuesSchema = z
  .object({
    pidfile: z.string().min(1).max(4096).default(DEFAULT_CTL_PID_FILE),
    json: z.boolean().default(false),
    filter: z
      .string()
      .refine((text) => parsePeerFilter(text) !== null, 'not an IPv6 address or ADDRESS/LENGTH')
      .optional(),
    limit: z
      .string()
      .regex(/^\d{1,7}$/, 'not a number')
      .transform(Number)
      .pipe(z.number().int().min(1).max(MAX_PEER_LIMIT))
      .optional(),
  })
  .strict();

export function parseCtlArgs(argv: readonly string[]): CtlArgsResult {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        pidfile: { type: 'string', short: 'p' },
        json: { type: 'boolean', short: 'j' },
        filter: { type: 'string', short: 'F' },
        limit: { type: 'string', short: 'n' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'V' },
      },
    });
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
  const { help, version, ...rest } = parsed.values;
  if (help === true) return { ok: true, args: { action: 'help' } };
  if (version === true) return { ok: true, args: { action: 'version' } };
  const values = valuesSchema.safeParse(rest);
  if (!values.success) {
    const issue = values.error.issues[0];
    return { ok: false, error: `--${issue?.path.join('.') ?? '?'}: ${issue?.message ?? 'invalid'}` };
  }
  const [command, ...extra] = parsed.positionals;
  if (command === 'drain' || command === 'withdraw' || command === 'announce') {
    const { pidfile, json, filter, limit } = values.data;
    if (extra.length > 0 || json || filter !== undefined || limit !== undefined)
      return { ok: false, error: `${command} takes no argument but --pidfile` };
    return { ok: true, args: { action: command, pidFile: pidfile } };
  }
  const known = z.enum(controlCommands).safeParse(command);
  if (!known.success)
    return { ok: false, error: command === undefined ? 'no command' : `unknown command "${command}"` };
  if (extra.length > 0) return { ok: false, error: `unexpected argument "${extra[0]}"` };
  const { pidfile, json, filter, limit } = values.data;
  if (known.data !== 'peers' && (filter !== undefined || limit !== undefined))
    return { ok: false, error: '--filter and --limit go with peers' };
  const request: ControlRequest = {
    command: known.data,
    ...(filter === undefined ? {} : { filter }),
    ...(limit === undefined ? {} : { limit }),
  };
  return { ok: true, args: { action: 'run', pidFile: pidfile, json, request } };
}
