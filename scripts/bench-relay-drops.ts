/**
 * Where a relay loses packets, read from the host through /proc/PID/net of one of its
 * processes (which shows that process's network namespace): datagrams its UDP socket had no
 * room for (Udp RcvbufErrors in net/snmp: client → host losses) and packets its TUN queue had
 * no room for (the interface's transmit drops in net/dev: host → client losses).
 */
import { readFileSync } from 'node:fs';

export interface RelayDrops {
  readonly udpReceiveBuffer: number;
  readonly tunQueue: number;
}

/** The named counters of the `Udp:` lines of /proc/net/snmp (a header line, then a value line). */
export function parseSnmpUdp(text: string): Map<string, number> {
  const lines = text.split('\n').filter((line) => line.startsWith('Udp: '));
  const names = lines[0]?.split(/\s+/).slice(1) ?? [];
  const values = lines[1]?.split(/\s+/).slice(1) ?? [];
  return new Map(names.map((name, i) => [name, Number(values[i])]));
}

/** An interface's transmit drops from /proc/net/dev, or null if the interface is not listed. */
export function parseNetDevTxDropped(text: string, interfaceName: string): number | null {
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon === -1 || line.slice(0, colon).trim() !== interfaceName) continue;
    // rx: bytes packets errs drop fifo frame compressed multicast; tx: bytes packets errs drop ...
    const dropped = Number(
      line
        .slice(colon + 1)
        .trim()
        .split(/\s+/)[11],
    );
    return Number.isSafeInteger(dropped) ? dropped : null;
  }
  return null;
}

/** The counters as seen by the first of `pids` that still exists; null if none does. */
export function readRelayDrops(pids: readonly number[], interfaceName: string): RelayDrops | null {
  for (const pid of pids) {
    try {
      const snmp = parseSnmpUdp(readFileSync(`/proc/${pid}/net/snmp`, 'utf8'));
      const dev = readFileSync(`/proc/${pid}/net/dev`, 'utf8');
      return {
        udpReceiveBuffer: snmp.get('RcvbufErrors') ?? 0,
        tunQueue: parseNetDevTxDropped(dev, interfaceName) ?? 0,
      };
    } catch {
      // Gone: try the next one.
    }
  }
  return null;
}

export function dropsBetween(before: RelayDrops | null, after: RelayDrops | null): RelayDrops | null {
  if (before === null || after === null) return null;
  return {
    udpReceiveBuffer: after.udpReceiveBuffer - before.udpReceiveBuffer,
    tunQueue: after.tunQueue - before.tunQueue,
  };
}
