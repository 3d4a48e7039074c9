/** miredo-ctl's text output for people (--json prints the replies as they are). */
import type { ControlStatus, PeersReply } from '../ipc/control-protocol.js';

const ago = (seconds: number | null): string => (seconds === null ? 'never' : `${Math.round(seconds)} s ago`);

function lines(pairs: ReadonlyArray<readonly [string, string | null]>): string {
  return pairs
    .filter((pair): pair is readonly [string, string] => pair[1] !== null)
    .map(([label, value]) => `${`${label}:`.padEnd(14)}${value}\n`)
    .join('');
}

function qualifiedText(status: ControlStatus): string | null {
  if (status.qualified === null) return null;
  if (!status.qualified) return 'no';
  const parts = [
    status.qualifiedForSeconds === null ? null : `for ${Math.round(status.qualifiedForSeconds)} s`,
    status.qualificationSeconds === null
      ? null
      : `first qualification took ${status.qualificationSeconds.toFixed(3)} s`,
  ].filter((part) => part !== null);
  return parts.length === 0 ? 'yes' : `yes (${parts.join('; ')})`;
}

function nativePeerLines(status: ControlStatus): Array<readonly [string, string]> {
  const native = status.nativePeers;
  if (native === null) return [];
  const rows = native.peers.map(
    (peer) =>
      [
        'Native peer',
        `${peer.address} via ${peer.relay ?? 'a relay not known yet'}${peer.alternate ? ` (alternate ${peer.alternate})` : ''}`,
      ] as const,
  );
  const shown = native.matched > rows.length ? `, ${rows.length} shown` : '';
  return [['Native peers', `${native.matched}${shown}`], ...rows];
}

function portMappingText(status: ControlStatus): string | null {
  const mapping = status.portMapping;
  if (mapping === undefined) return null;
  if (mapping === null) return 'none';
  const where = `${mapping.externalAddress ?? '?'}:${mapping.externalPort}`;
  const cone = mapping.cone ? ', NAT now cone (RFC 6081)' : '';
  return `${mapping.protocol} ${where}, lifetime ${mapping.lifetime} s (renewed before ${Math.round(mapping.expiresInSeconds)} s)${cone}`;
}

function announcementText(status: ControlStatus): string | null {
  const announcement = status.announcement;
  if (announcement === undefined) return null;
  const state = announcement.announced ? 'yes' : 'no, withdrawn';
  const extras = [
    announcement.maintenance === true ? 'maintenance until miredo-ctl announce' : null,
    (announcement.holdDownSeconds ?? 0) > 0 ? `hold-down ${announcement.holdDownSeconds} s` : null,
  ].filter((extra) => extra !== null);
  const more = extras.length === 0 ? '' : ` [${extras.join('; ')}]`;
  return `${state} (table ${announcement.table}): ${announcement.reason}${more}`;
}

/** A client's server: which configured name it comes from, when that says more than its address. */
function serverOrigin(server: ControlStatus['servers'][number]): string {
  if (server.name === undefined || server.name === server.address)
    return server.fallback === true ? 'fallback, ' : '';
  return `${server.fallback === true ? 'fallback ' : ''}${server.name}, `;
}

export function formatStatus(status: ControlStatus): string {
  const table = status.peerTable;
  return lines([
    ['Role', status.role],
    ['Interface', status.interface],
    ['Address', status.address ?? (status.role === 'client' ? 'none' : null)],
    ['Qualified', qualifiedText(status)],
    ['NAT type', status.natType],
    ['Mapping', status.mapping],
    ['Port map', portMappingText(status)],
    ['MTU', status.mtu === null ? null : String(status.mtu)],
    ['Prefix', status.prefix],
    ['Announced', announcementText(status)],
    ...status.servers.map(
      (server) =>
        [
          'Server',
          status.role === 'server'
            ? server.address
            : `${server.address} (${serverOrigin(server)}last answer ${ago(server.lastAnswerSecondsAgo)})`,
        ] as const,
    ),
    [
      'Peers',
      table === null
        ? null
        : `${table.peers} of ${table.capacity} (queued: ${table.queuedPackets} packets, ${table.queuedBytes} bytes)`,
    ],
    ...nativePeerLines(status),
    [
      'Engine',
      `pid ${status.enginePid}, up ${Math.round(status.uptimeSeconds)} s, ${status.workers} worker(s)`,
    ],
  ]);
}

export function formatPeers(reply: PeersReply): string {
  const header = ['ADDRESS', 'MAPPING', 'ALTERNATE', 'FLAGS', 'LAST-IN', 'LAST-OUT'];
  const rows = reply.peers.map((peer) => [
    peer.address,
    peer.mapping ?? '-',
    peer.alternate ?? '-',
    [
      peer.trusted ? 'trusted' : null,
      peer.proven ? 'proven' : 'unproven',
      peer.solicited ? 'solicited' : null,
      peer.queued ? 'queued' : null,
    ]
      .filter((flag) => flag !== null)
      .join(','),
    ago(peer.lastInSecondsAgo),
    ago(peer.lastOutSecondsAgo),
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const render = (row: readonly string[]): string =>
    `${row
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd()}\n`;
  return (
    [header, ...rows].map(render).join('') +
    `${reply.peers.length} of ${reply.matched} matching peer(s) shown; ${reply.total} in the table\n`
  );
}

export function formatCounters(counters: Readonly<Record<string, number>>): string {
  const names = Object.keys(counters).sort();
  const width = Math.max(0, ...names.map((name) => name.length));
  return names.map((name) => `${name.padEnd(width)}  ${counters[name] ?? 0}\n`).join('');
}
