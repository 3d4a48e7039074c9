/**
 * A Teredo lab in network namespaces: build it from a spec, start servers, relays and clients
 * (ours or Debian's Miredo), ping between nodes, and tear everything down.
 *
 *   const lab = await createLab({ nats: [{ name: 'nat1', kind: 'cone', clients: ['alice'] }] });
 *   try {
 *     await lab.startServer('debian');
 *     await lab.startRelay('debian');
 *     const alice = await lab.startClient('alice', 'debian');
 *     const { address } = await alice.waitQualified(10_000);
 *     await lab.ping6('ipv6host', address);
 *   } finally {
 *     await lab.destroy();
 *   }
 *
 * Needs root. destroy() is safe to call twice; createLab() cleans up itself when it fails.
 */
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdir, rm, writeFile } from 'node:fs/promises';
import { lookupUser } from '../../src/os/posix.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createOwnedDirectory, sweepAbandonedLabs } from './abandoned.js';
import { PacketCapture } from './capture.js';
import type { CaptureOptions } from './capture.js';
import type { CommandResult } from './command.js';
import { LabDaemon } from './daemon.js';
import { Fleet } from './fleet.js';
import { createJailDirectory, removeJailDirectory } from './jail.js';
import { clientConfig, daemonCommand, describeDaemon, relayConfig, serverConfig } from './daemon-config.js';
import type { DaemonRole, Implementation, RelayType } from './daemon-config.js';
import { LabNamespace } from './namespace.js';
import { formatPing, parsePingOutput, pingArguments } from './ping.js';
import type { PingOptions, PingResult } from './ping.js';
import { planLab, TEREDO_PREFIX_ROUTE } from './plan.js';
import type { LabNode, LabSpec, ServerNode } from './plan.js';
import type { LabProgress, ProgressListener } from './progress.js';
import { formatTeredoAddress } from './teredo-address.js';
import { TeredoClient } from './teredo-client.js';
import type { Qualified } from './teredo-client.js';
import { UdpAgent } from './udp-agent-client.js';
import { attachClient, attachPublicNode, buildNat, buildWan, prepareNamespace } from './topology.js';
import { tunnelExtra } from './lab-workers.js';
import { pollUntil, settleAll } from './wait.js';

export { LAB_WORKERS_ENV, tunnelExtra } from './lab-workers.js';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const DEBIAN_MIREDO = '/usr/sbin/miredo';
export const DEBIAN_MIREDO_SERVER = '/usr/sbin/miredo-server';
export const DEFAULT_TEREDO_INTERFACE = 'teredo';
const TEREDO_PORT = 3544;
/** Our daemons log this (JSON, msg field) once the unprivileged engine runs; Debian's print nothing alike. */
const OURS_ENGINE_READY = /"msg":"Engine \d+ ready"/;

export interface CreateLabOptions extends LabSpec {
  readonly onProgress?: ProgressListener;
}

interface DaemonOptions {
  /** Extra configuration lines (our own directives, say). */
  readonly extraConfig?: readonly string[];
  /** How long start* waits for the daemon to be ready. Default 15 s. */
  readonly readyTimeoutMs?: number;
  /**
   * Ours only: start it as this user holding only the role's capabilities as ambient ones
   * (setpriv), as systemd's miredo.service does, not as root. Its files go to a directory it owns.
   */
  readonly serviceUser?: string;
  /**
   * Ours only: run from this copy of the package (test/support/nobody-copy.ts) instead of this
   * checkout, which a service user may not be able to read (a clone into /root).
   */
  readonly packageRoot?: string;
}

export interface StartServerOptions extends DaemonOptions {
  /** Default the server node's first address (a second server needs addresses added to the node). */
  readonly primaryIPv4?: string;
  readonly secondaryIPv4?: string;
}

export interface StartRelayOptions extends DaemonOptions {
  /** The relay node: 'relay' (the default), or relay1..relayN of an anycast fleet. */
  readonly node?: string;
  /** Default 'cone'. */
  readonly relayType?: RelayType;
  readonly interfaceName?: string;
  /** Default the node's own address (an anycast fleet with sharedIPv4: FLEET_SHARED_IPV4). */
  readonly bindAddress?: string;
  readonly bindPort?: number;
}

export interface StartClientOptions extends DaemonOptions {
  readonly interfaceName?: string;
  /** Default the lab server's primary address. */
  readonly serverAddress?: string;
  readonly bindPort?: number;
}

export interface Lab {
  readonly id: string;
  /** Every node by name: wan, server, relay (or router, relay1..N), ipv6host, the NATs and the clients. */
  readonly nodes: ReadonlyMap<string, LabNode>;
  /** The relay nodes' names: ['relay'], or relay1..relayN of an anycast fleet. */
  readonly relays: readonly string[];
  /** An anycast lab's router, BIRDs and relays (fleet.ts); throws in a lab without `anycast`. */
  readonly fleet: Fleet;
  /** Holds the daemons' configuration files and pid files. */
  readonly directory: string;
  /** Our daemons' chroot: empty, root's, 0755, under /run (jail.ts). */
  readonly jail: string;
  node(name: string): LabNode;
  namespace(node: string): LabNamespace;
  exec(node: string, command: string, args: readonly string[], timeoutMs?: number): Promise<CommandResult>;
  run(node: string, command: string, args: readonly string[], timeoutMs?: number): Promise<string>;
  spawn(node: string, command: string, args: readonly string[], options?: SpawnOptions): ChildProcess;
  /** Resolves once the server listens on UDP 3544 of both its addresses. */
  startServer(impl: Implementation, options?: StartServerOptions): Promise<LabDaemon>;
  /** Resolves once the relay's tunnel routes the Teredo prefix. */
  startRelay(impl: Implementation, options?: StartRelayOptions): Promise<LabDaemon>;
  /** Resolves once the client runs; see TeredoClient.waitQualified. */
  startClient(node: string, impl: Implementation, options?: StartClientOptions): Promise<TeredoClient>;
  /** Waits for a client's qualification and says so in the progress report. */
  waitQualified(client: TeredoClient, timeoutMs: number): Promise<Qualified>;
  ping6(from: string, to: string, options?: PingOptions): Promise<PingResult>;
  /** Captures packets on every interface of `node` (live, decoded) until stop(). */
  capture(node: string, options?: CaptureOptions): Promise<PacketCapture>;
  /** A UDP endpoint process in `node`, for probing NATs with plain datagrams (udp-agent.ts). */
  udpAgent(node: string): UdpAgent;
  /** Every daemon's output, for a failure report. */
  transcripts(): string;
  destroy(): Promise<void>;
}

export async function createLab(options: CreateLabOptions): Promise<Lab> {
  const id = randomBytes(3).toString('hex');
  const lab = new NetnsLab(id, options);
  try {
    await lab.build();
  } catch (error) {
    await lab.destroy();
    throw error;
  }
  return lab;
}

class NetnsLab implements Lab {
  readonly id: string;
  readonly nodes: ReadonlyMap<string, LabNode>;
  directory = '';
  jail = '';
  private readonly createdAt = Date.now();
  private readonly namespaces = new Map<string, LabNamespace>();
  private readonly daemons: LabDaemon[] = [];
  private readonly captures: PacketCapture[] = [];
  private readonly agents: UdpAgent[] = [];
  private readonly onProgress: ProgressListener | undefined;
  private destroying: Promise<void> | null = null;
  private files = 0;
  private anycast: Fleet | null = null;

  constructor(id: string, options: CreateLabOptions) {
    this.id = id;
    this.nodes = planLab(options, id).nodes;
    this.onProgress = options.onProgress;
  }

  get relays(): readonly string[] {
    return [...this.nodes.values()].filter((node) => node.role === 'relay').map((node) => node.name);
  }

  get fleet(): Fleet {
    if (this.anycast === null) throw new Error(`lab ${this.id} has no anycast fleet`);
    return this.anycast;
  }

  async build(): Promise<void> {
    const names = [...this.nodes.keys()];
    this.report(null, `building lab ${this.id}: ${names.length} network namespaces (${names.join(', ')})`);
    for (const id of await sweepAbandonedLabs())
      this.report(null, `removed lab ${id}, left behind by a process that died`);
    this.directory = createOwnedDirectory(join(tmpdir(), `mtl-${this.id}-`));
    await chmod(this.directory, 0o755);
    this.jail = createJailDirectory(`mtl-${this.id}-`);

    await settleAll(
      [...this.nodes.values()].map(async (node) => {
        const ns = await LabNamespace.create(node.netns);
        this.namespaces.set(node.name, ns);
        await prepareNamespace(ns, node);
      }),
    );
    const wan = this.nodes.get('wan');
    if (wan?.role !== 'wan') throw new Error('the plan has no wan node');
    await buildWan(this.namespace('wan'), wan);
    const report = this.report.bind(this);
    const namespaceOf = this.namespace.bind(this);
    await settleAll(
      [...this.nodes.values()].map(async (node) => {
        if (node.role === 'wan' || node.role === 'client') return;
        if (node.role === 'ipv6host' && node.router !== null) return; // plugged by the fleet
        await attachPublicNode(wan, namespaceOf, node, report);
        if (node.role === 'nat') await buildNat(this.namespace(node.name), node, report);
      }),
    );
    await settleAll(
      [...this.nodes.values()].map(async (node) => {
        if (node.role === 'client') await attachClient(namespaceOf, node, report);
      }),
    );
    await this.buildFleet();
    this.report(null, 'topology ready');
  }

  private async buildFleet(): Promise<void> {
    const router = this.nodes.get('router');
    const host = this.nodes.get('ipv6host');
    if (router?.role !== 'router' || host?.role !== 'ipv6host') return;
    this.anycast = new Fleet(
      {
        directory: this.directory,
        namespace: this.namespace.bind(this),
        node: this.node.bind(this),
        report: this.report.bind(this),
        track: (daemon) => this.daemons.push(daemon),
        nats: [...this.nodes.values()].filter((node) => node.role === 'nat').map((node) => node.name),
      },
      router,
    );
    await this.anycast.build(host);
  }

  node(name: string): LabNode {
    const node = this.nodes.get(name);
    if (node === undefined) throw new Error(`no node ${name} in lab ${this.id}`);
    return node;
  }

  private serverNode(): ServerNode {
    const node = this.node('server');
    if (node.role !== 'server') throw new Error('the server node is missing');
    return node;
  }

  namespace(node: string): LabNamespace {
    const ns = this.namespaces.get(node);
    if (ns === undefined) throw new Error(`no namespace for ${node} in lab ${this.id}`);
    return ns;
  }

  exec(node: string, command: string, args: readonly string[], timeoutMs?: number): Promise<CommandResult> {
    return this.namespace(node).exec(command, args, timeoutMs);
  }

  run(node: string, command: string, args: readonly string[], timeoutMs?: number): Promise<string> {
    return this.namespace(node).run(command, args, timeoutMs);
  }

  spawn(node: string, command: string, args: readonly string[], options?: SpawnOptions): ChildProcess {
    return this.namespace(node).spawn(command, args, options);
  }

  async startServer(impl: Implementation, options: StartServerOptions = {}): Promise<LabDaemon> {
    const node = this.serverNode();
    const [defaultPrimary, defaultSecondary] = node.ipv4;
    const primary = options.primaryIPv4 ?? defaultPrimary;
    if (primary === undefined || defaultSecondary === undefined)
      throw new Error('the server needs two IPv4 addresses');
    const secondary = options.secondaryIPv4 ?? defaultSecondary;
    const config = serverConfig({
      primaryIPv4: primary,
      ...(options.secondaryIPv4 === undefined ? {} : { secondaryIPv4: options.secondaryIPv4 }),
      ...(options.extraConfig === undefined ? {} : { extra: options.extraConfig }),
    });
    const daemon = await this.startDaemon(node.name, impl, 'server', config, options);
    const readyTimeoutMs = options.readyTimeoutMs ?? 15_000;
    if (impl === 'ours') await daemon.waitForOutput(OURS_ENGINE_READY, readyTimeoutMs);
    const ns = this.namespace(node.name);
    const wanted = [primary, secondary].map((address) => `${address}:${TEREDO_PORT}`);
    await pollUntil(
      async () => {
        const sockets = await ns.exec('ss', ['-H', '-u', '-l', '-n']);
        return wanted.every((socket) => sockets.stdout.includes(socket)) ? true : undefined;
      },
      readyTimeoutMs,
      `the server to listen on ${wanted.join(' and ')}`,
      daemon,
    );
    this.report(node.name, `${describeDaemon(impl, 'server')} listens on ${wanted.join(' and ')}`);
    return daemon;
  }

  async startRelay(impl: Implementation, options: StartRelayOptions = {}): Promise<LabDaemon> {
    const node = this.node(options.node ?? 'relay');
    if (node.role !== 'relay') throw new Error(`${node.name} is not a relay node`);
    const bindAddress = options.bindAddress ?? node.ipv4[0];
    if (bindAddress === undefined) throw new Error('the relay has no IPv4 address');
    const interfaceName = options.interfaceName ?? DEFAULT_TEREDO_INTERFACE;
    const relayType = options.relayType ?? 'cone';
    const config = relayConfig({
      relayType,
      interfaceName,
      bindAddress,
      ...(options.bindPort === undefined ? {} : { bindPort: options.bindPort }),
      ...tunnelExtra(impl, options.extraConfig),
    });
    const daemon = await this.startDaemon(node.name, impl, 'relay', config, options);
    const readyTimeoutMs = options.readyTimeoutMs ?? 15_000;
    if (impl === 'ours') await daemon.waitForOutput(OURS_ENGINE_READY, readyTimeoutMs);
    const ns = this.namespace(node.name);
    await pollUntil(
      async () => {
        const routes = await ns.exec('ip', [
          '-6',
          'route',
          'show',
          TEREDO_PREFIX_ROUTE,
          'dev',
          interfaceName,
        ]);
        return routes.code === 0 && routes.stdout.trim() !== '' ? true : undefined;
      },
      readyTimeoutMs,
      `the relay's ${interfaceName} to route ${TEREDO_PREFIX_ROUTE}`,
      daemon,
    );
    this.report(
      node.name,
      `${describeDaemon(impl, 'relay')} (${relayType}) routes ${TEREDO_PREFIX_ROUTE} into ${interfaceName}`,
    );
    return daemon;
  }

  async startClient(
    nodeName: string,
    impl: Implementation,
    options: StartClientOptions = {},
  ): Promise<TeredoClient> {
    const node = this.node(nodeName);
    if (node.role !== 'client') throw new Error(`${nodeName} is not a client node`);
    const interfaceName = options.interfaceName ?? DEFAULT_TEREDO_INTERFACE;
    const serverAddress = options.serverAddress ?? this.serverNode().ipv4[0] ?? '';
    const config = clientConfig({
      serverAddress,
      interfaceName,
      ...(options.bindPort === undefined ? {} : { bindPort: options.bindPort }),
      ...tunnelExtra(impl, options.extraConfig),
    });
    const daemon = await this.startDaemon(nodeName, impl, 'client', config, options);
    return new TeredoClient(daemon, this.namespace(nodeName), interfaceName);
  }

  async waitQualified(client: TeredoClient, timeoutMs: number): Promise<Qualified> {
    const qualified = await client.waitQualified(timeoutMs);
    this.report(client.node, `qualified in ${qualified.elapsedMs} ms as ${formatTeredoAddress(qualified)}`);
    return qualified;
  }

  async ping6(from: string, to: string, options: PingOptions = {}): Promise<PingResult> {
    const deadlineSeconds = options.deadlineSeconds ?? 10;
    const args = pingArguments(to, { ...options, deadlineSeconds });
    const result = await this.exec(from, 'ping', args, (deadlineSeconds + 5) * 1000);
    if (result.code === 255 && /exec of "ping" failed/.test(result.stderr)) {
      throw new Error('ping is missing: install iputils-ping (scripts/install-debian-deps.sh)');
    }
    const ping = parsePingOutput(from, to, result);
    this.report(from, formatPing(ping));
    return ping;
  }

  async capture(node: string, options: CaptureOptions = {}): Promise<PacketCapture> {
    const capture = await PacketCapture.start(node, this.namespace(node), options);
    this.captures.push(capture);
    this.report(node, `capturing packets${options.filter === undefined ? '' : ` (${options.filter})`}`);
    return capture;
  }

  udpAgent(node: string): UdpAgent {
    const agent = new UdpAgent(node, this.namespace(node));
    this.agents.push(agent);
    return agent;
  }

  transcripts(): string {
    return this.daemons
      .map(
        (daemon) =>
          `--- ${daemon.node} (${describeDaemon(daemon.impl, daemon.role)}, pid ${daemon.pid})\n${daemon.transcript()}`,
      )
      .join('\n');
  }

  destroy(): Promise<void> {
    this.destroying ??= this.teardown();
    return this.destroying;
  }

  private async teardown(): Promise<void> {
    this.report(null, 'tearing down: stopping daemons, deleting namespaces');
    for (const agent of this.agents) agent.stop();
    await Promise.allSettled([
      ...this.daemons.map((daemon) => daemon.stop(2000)),
      ...this.captures.map((capture) => capture.end()),
    ]);
    await Promise.allSettled([...this.namespaces.values()].map((ns) => ns.delete()));
    if (this.directory !== '') await rm(this.directory, { recursive: true, force: true });
    if (this.jail !== '') removeJailDirectory(this.jail);
    this.report(null, 'lab removed');
  }

  private async startDaemon(
    nodeName: string,
    impl: Implementation,
    role: DaemonRole,
    config: string,
    { serviceUser, packageRoot }: DaemonOptions,
  ): Promise<LabDaemon> {
    if (this.destroying !== null) throw new Error(`lab ${this.id} is being destroyed`);
    const service = serviceUser === undefined ? null : await this.serviceDirectory(serviceUser);
    const directory = service?.directory ?? this.directory;
    const base = join(directory, `${nodeName}-${role}-${this.files++}`);
    const paths = { config: `${base}.conf`, pidFile: `${base}.pid`, jail: this.jail };
    await writeFile(paths.config, config, { mode: 0o644 });
    const { command, args } = daemonCommand(impl, role, paths, {
      repoRoot: packageRoot === undefined ? REPO_ROOT : `${packageRoot.replace(/\/$/, '')}/`,
      nodeBinary: process.execPath,
      debianServer: DEBIAN_MIREDO_SERVER,
      debianMiredo: DEBIAN_MIREDO,
      ...(service === null ? {} : { serviceUser: service.user }),
    });
    const child = this.namespace(nodeName).spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const daemon = new LabDaemon(nodeName, impl, role, paths.config, child);
    this.daemons.push(daemon);
    this.report(nodeName, `started ${describeDaemon(impl, role)}, pid ${daemon.pid}`);
    return daemon;
  }

  /** A directory of the lab's that `user` owns (its daemons' PID files and control sockets). */
  private async serviceDirectory(
    user: string,
  ): Promise<{ directory: string; user: { name: string; gid: number } }> {
    const entry = lookupUser(user);
    if (entry === null) throw new Error(`no user ${user}`);
    const directory = join(this.directory, `service-${user}`);
    await mkdir(directory, { recursive: true, mode: 0o755 });
    await chown(directory, entry.uid, entry.gid);
    return { directory, user: { name: user, gid: entry.gid } };
  }

  private report(node: string | null, message: string): void {
    const event: LabProgress = { elapsedMs: Date.now() - this.createdAt, node, message };
    this.onProgress?.(event);
  }
}
