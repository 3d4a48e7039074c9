/**
 * Starting bgp-delay.ts in a relay's namespace: a netfilter rule sends the relay's BGP connection
 * to the router through it. The delayer runs as nobody, and the rule spares nobody's own
 * connection to the router.
 */
import { fileURLToPath } from 'node:url';
import { LabDaemon } from './daemon.js';
import type { FleetContext } from './fleet.js';
import type { RelayUplink } from './fleet-plan.js';
import { iptablesRestoreInput } from './nat-rules.js';

const BGP_DELAY_PATH = fileURLToPath(new URL('./bgp-delay.js', import.meta.url));
const NOBODY = 65534;

export async function startBgpDelay(
  context: FleetContext,
  node: string,
  uplink: RelayUplink,
  delayMs: number,
  port: number,
): Promise<LabDaemon> {
  const ns = context.namespace(node);
  const rule = ['-t', 'nat', '-A', 'OUTPUT', '-p', 'tcp', '-d', uplink.routerIPv6, '--dport', '179'].concat([
    '-m',
    'owner',
    '!',
    '--uid-owner',
    String(NOBODY),
    '-j',
    'REDIRECT',
    '--to-ports',
    String(port),
  ]);
  await ns.run('ip6tables-restore', ['--noflush'], undefined, iptablesRestoreInput([rule]));
  const ids = ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups'];
  const args = [
    ...ids,
    process.execPath,
    BGP_DELAY_PATH,
    String(port),
    uplink.routerIPv6,
    uplink.ipv6,
    String(delayMs),
  ];
  const child = ns.spawn('setpriv', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const daemon = new LabDaemon(node, 'debian', 'bgp-delay', BGP_DELAY_PATH, child);
  context.track(daemon);
  await daemon.waitForOutput(/^listening$/, 10_000);
  context.report(node, `BGP messages to the router delayed by ${delayMs} ms`);
  return daemon;
}
