/**
 * miredo-ctl: the read-only view of a running miredo or miredo-server, its drain and a relay's
 * maintenance (man/miredo-ctl.8).
 */
import { controlSocketPath } from '../ipc/control-protocol.js';
import type { ControlReply } from '../ipc/control-protocol.js';
import { PACKAGE_NAME, PACKAGE_VERSION } from '../version.js';
import { CTL_USAGE, parseCtlArgs } from './ctl-args.js';
import { CTL_EXIT, queryDaemon } from './ctl-client.js';
import { drainDaemon } from './ctl-drain.js';
import { setMaintenance } from './ctl-maintenance.js';
import { formatCounters, formatPeers, formatStatus } from './ctl-format.js';
import { exitAfterStderr } from './exit.js';

function output(reply: Exclude<ControlReply, { kind: 'error' }>, json: boolean): string {
  if (reply.kind === 'metrics') return reply.text;
  if (json) {
    const body =
      reply.kind === 'status' ? reply.status : reply.kind === 'peers' ? reply.peers : reply.counters;
    return `${JSON.stringify(body, null, 2)}\n`;
  }
  switch (reply.kind) {
    case 'status':
      return formatStatus(reply.status);
    case 'peers':
      return formatPeers(reply.peers);
    case 'counters':
      return formatCounters(reply.counters);
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const parsed = parseCtlArgs(argv);
  if (!parsed.ok) {
    process.stderr.write(`miredo-ctl: ${parsed.error}\n${CTL_USAGE}`);
    return CTL_EXIT.usage;
  }
  const { args } = parsed;
  if (args.action === 'drain' || args.action === 'withdraw' || args.action === 'announce') {
    const print = (line: string): void => void process.stdout.write(line);
    const drained =
      args.action === 'drain'
        ? await drainDaemon(args.pidFile, print)
        : await setMaintenance(args.pidFile, args.action === 'withdraw', print);
    if (drained.status !== CTL_EXIT.ok) process.stderr.write(`miredo-ctl: ${drained.message}\n`);
    return drained.status;
  }
  if (args.action !== 'run') {
    process.stdout.write(
      args.action === 'help' ? CTL_USAGE : `miredo-ctl (${PACKAGE_NAME}) version ${PACKAGE_VERSION}\n`,
    );
    return CTL_EXIT.ok;
  }
  const result = await queryDaemon(controlSocketPath(args.pidFile), args.request);
  if (!result.ok) {
    process.stderr.write(`miredo-ctl: ${result.message}\n`);
    return result.status;
  }
  const { reply } = result;
  if (reply.kind === 'error') {
    process.stderr.write(`miredo-ctl: the daemon refused the request (${reply.error}): ${reply.message}\n`);
    return CTL_EXIT.failed;
  }
  process.stdout.write(output(reply, args.json));
  return CTL_EXIT.ok;
}

exitAfterStderr(await main(process.argv.slice(2)));
