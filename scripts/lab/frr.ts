/**
 * FRR in a relay's namespace (AnycastSpec routing 'frr'): zebra, bfdd and bgpd with every socket
 * and pid file in the lab's directory, then examples/frr-relay.conf (frr-config.ts) loaded
 * through vtysh, as Debian's frrinit loads /etc/frr/frr.conf. The daemons run as frr, as they do
 * on a host; the lab's teardown stops them with the other processes it tracks.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCommand } from './command.js';
import { LabDaemon } from './daemon.js';
import type { FleetContext } from './fleet.js';
import { FRR_DAEMONS, frrDaemonArgs, relayFrrConfig } from './frr-config.js';
import type { FrrRelay } from './frr-config.js';
import { pollUntil } from './wait.js';

const FRR_RELAY_EXAMPLE = fileURLToPath(new URL('../../../examples/frr-relay.conf', import.meta.url));
const FRR_BIN = '/usr/lib/frr';
const READY_TIMEOUT_MS = 10_000;

/** The directory of `node`'s FRR: sockets, pid files, configuration. */
export function frrDirectory(labDirectory: string, node: string): string {
  return join(labDirectory, `${node}-frr`);
}

/** Runs vtysh against `node`'s FRR (`-c 'show bgp summary'`, `-f file`); throws on failure. */
export async function vtysh(directory: string, args: readonly string[]): Promise<string> {
  const result = await runCommand('vtysh', ['--vty_socket', directory, ...args]);
  if (result.code !== 0) throw new Error(`vtysh ${args.join(' ')}: ${result.stdout}${result.stderr}`);
  return result.stdout;
}

/** Starts `relay`'s FRR and loads its configuration; resolves with its daemons once it is loaded. */
export async function startRelayFrr(context: FleetContext, relay: FrrRelay): Promise<LabDaemon[]> {
  const directory = frrDirectory(context.directory, relay.name);
  await runCommand('install', ['-d', '-o', 'frr', '-g', 'frr', '-m', '0755', directory]);
  await writeFile(join(directory, 'empty.conf'), '', { mode: 0o644 });
  const config = join(directory, 'frr.conf');
  await writeFile(config, relayFrrConfig(await readFile(FRR_RELAY_EXAMPLE, 'utf8'), relay), { mode: 0o644 });
  const daemons: LabDaemon[] = [];
  for (const name of FRR_DAEMONS) {
    const child = context
      .namespace(relay.name)
      .spawn(join(FRR_BIN, name), frrDaemonArgs(name, directory), { stdio: ['ignore', 'pipe', 'pipe'] });
    const daemon = new LabDaemon(relay.name, 'debian', 'frr', config, child);
    context.track(daemon);
    daemons.push(daemon);
    const vty = join(directory, `${name}.vty`);
    await pollUntil(
      async () => ((await runCommand('test', ['-S', vty])).code === 0 ? true : undefined),
      READY_TIMEOUT_MS,
      `FRR's ${name} in ${relay.name} to answer on ${vty}`,
      daemon,
    );
  }
  await vtysh(directory, ['-f', config]);
  const pids = FRR_DAEMONS.map((name, index) => `${name} pid ${daemons[index]?.pid ?? 0}`);
  context.report(relay.name, `FRR started and configured (${pids.join(', ')})`);
  return daemons;
}
