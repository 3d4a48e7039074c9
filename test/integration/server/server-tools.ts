/**
 * A small lab for the server's integration tests: three namespaces (server, client, ipv6host),
 * a UDP endpoint the test drives inside the client namespace, and kernel counters of the
 * native IPv6 host.
 *
 *   client 198.51.100.50 ──[pub]── server 198.51.100.1, .2 ──[v6]── ipv6host 2001:db8:1::2
 *                                         2001:db8:1::1
 */
import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createNetns } from '../../support/netns.js';
import type { Netns } from '../../support/netns.js';
import { REPO_ROOT } from '../daemon/daemon-tools.js';
import { UDP_PEER_VARIABLE } from './udp-peer.js';
import type { PeerCommand, PeerDatagram } from './udp-peer.js';

export const SERVER_BIN = `${REPO_ROOT}bin/miredo-server`;
export const SERVER_PRIMARY = '198.51.100.1';
export const SERVER_SECONDARY = '198.51.100.2';
export const CLIENT_IPV4 = '198.51.100.50';
export const SERVER_IPV6 = '2001:db8:1::1';
export const IPV6_HOST = '2001:db8:1::2';

const PEER_SCRIPT = fileURLToPath(new URL('./udp-peer.js', import.meta.url));

export interface ServerLab {
  readonly server: Netns;
  readonly client: Netns;
  readonly ipv6host: Netns;
  /** Deletes every namespace (and kills what runs inside); safe to call twice. */
  destroy(): Promise<void>;
}

export async function createServerLab(): Promise<ServerLab> {
  const created: Array<Netns & { delete(): Promise<void> }> = [];
  const destroy = async (): Promise<void> => {
    for (const ns of created.splice(0)) await ns.delete();
  };
  try {
    const next = async (): Promise<Netns> => {
      const ns = await createNetns();
      created.push(ns);
      return ns;
    };
    const server = await next();
    const client = await next();
    const ipv6host = await next();
    // Both ends are created inside the namespaces: no name is ever taken in the host's namespace.
    await server.run('ip', [
      'link',
      'add',
      'srv-pub',
      'type',
      'veth',
      'peer',
      'name',
      'cli-pub',
      'netns',
      client.name,
    ]);
    await server.run('ip', [
      'link',
      'add',
      'srv-v6',
      'type',
      'veth',
      'peer',
      'name',
      'host-v6',
      'netns',
      ipv6host.name,
    ]);
    await server.run('ip', ['addr', 'add', `${SERVER_PRIMARY}/24`, 'dev', 'srv-pub']);
    await server.run('ip', ['addr', 'add', `${SERVER_SECONDARY}/24`, 'dev', 'srv-pub']);
    await server.run('ip', ['-6', 'addr', 'add', `${SERVER_IPV6}/64`, 'dev', 'srv-v6', 'nodad']);
    await client.run('ip', ['addr', 'add', `${CLIENT_IPV4}/24`, 'dev', 'cli-pub']);
    await ipv6host.run('ip', ['-6', 'addr', 'add', `${IPV6_HOST}/64`, 'dev', 'host-v6', 'nodad']);
    await server.run('ip', ['link', 'set', 'srv-pub', 'up']);
    await server.run('ip', ['link', 'set', 'srv-v6', 'up']);
    await client.run('ip', ['link', 'set', 'cli-pub', 'up']);
    await ipv6host.run('ip', ['link', 'set', 'host-v6', 'up']);
    return { server, client, ipv6host, destroy };
  } catch (error) {
    await destroy();
    throw error;
  }
}

/** One counter of /proc/net/snmp6 (per namespace), e.g. Icmp6InEchos. */
export async function snmp6(ns: Netns, name: string): Promise<number> {
  const text = await ns.run('cat', ['/proc/net/snmp6']);
  const match = new RegExp(`^${name}\\s+(\\d+)$`, 'm').exec(text);
  if (match?.[1] === undefined) throw new Error(`no ${name} in /proc/net/snmp6`);
  return Number(match[1]);
}

/** The UDP endpoint of udp-peer.ts, running inside a namespace. */
export class UdpPeer {
  readonly received: PeerDatagram[] = [];
  private consumed = 0;
  private readonly events = new EventEmitter();
  private stderr = '';

  private constructor(private readonly child: ChildProcess) {
    let pending = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      pending += chunk;
      for (let newline = pending.indexOf('\n'); newline !== -1; newline = pending.indexOf('\n')) {
        const record = JSON.parse(pending.slice(0, newline)) as Partial<PeerDatagram> & { ready?: number };
        pending = pending.slice(newline + 1);
        if (record.ready !== undefined) this.events.emit('ready');
        else {
          this.received.push(record as PeerDatagram);
          this.events.emit('datagram');
        }
      }
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    child.on('exit', () => this.events.emit('exit'));
  }

  /** Starts a peer bound to address:port inside `ns` and waits until it is listening. */
  static async start(ns: Netns, address: string, port: number): Promise<UdpPeer> {
    const child = ns.spawn(process.execPath, [PEER_SCRIPT], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, [UDP_PEER_VARIABLE]: `${address}:${port}` },
    });
    const peer = new UdpPeer(child);
    await new Promise<void>((resolve, reject) => {
      peer.events.once('ready', resolve);
      peer.events.once('exit', () => reject(new Error(`UDP peer exited: ${peer.stderr}`)));
    });
    return peer;
  }

  send(payload: Uint8Array, to: string, port: number): void {
    const command: PeerCommand = { to, port, hex: Buffer.from(payload).toString('hex') };
    this.child.stdin?.write(`${JSON.stringify(command)}\n`);
  }

  /** The next datagram not yet returned (already received or to come), or a rejection at the deadline. */
  next(timeoutMs: number): Promise<PeerDatagram> {
    return new Promise((resolve, reject) => {
      const take = (): boolean => {
        const datagram = this.received[this.consumed];
        if (datagram === undefined) return false;
        this.consumed += 1;
        resolve(datagram);
        return true;
      };
      if (take()) return;
      const onDatagram = (): void => {
        if (!take()) return;
        clearTimeout(timer);
        this.events.off('datagram', onDatagram);
      };
      const timer = setTimeout(() => {
        this.events.off('datagram', onDatagram);
        reject(new Error(`no datagram within ${timeoutMs} ms (${this.received.length} received so far)`));
      }, timeoutMs);
      this.events.on('datagram', onDatagram);
    });
  }

  /** Datagrams received but not returned by next(). */
  get unread(): number {
    return this.received.length - this.consumed;
  }

  close(): void {
    this.child.stdin?.end();
    this.child.kill();
  }
}
