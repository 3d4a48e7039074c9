/**
 * The anycast relay fleet of a lab (fleet-plan.ts): wiring the router, its host link and relay
 * links, BIRD on the router and on every relay (started with the lab, stopped by its
 * teardown), and what the tests ask: the router's nexthops for 2001::/32, which relay the
 * router sent Teredo-bound packets to, and killing a relay (with or without its BIRD).
 */
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { BGP_DELAY_PORT, relayBirdConfig, routerBirdConfig } from './bird-config.js';
import { runCommand } from './command.js';
import { LabDaemon } from './daemon.js';
import { FLEET_HOST_PREFIX, FLEET_SHARED_IPV4, ROUTER_WAN_IPV4, ROUTER_WAN_IPV6 } from './fleet-plan.js';
import { ipv4SessionName } from './bird-config.js';
import type { LabNamespace } from './namespace.js';
import { iptablesRestoreInput } from './nat-rules.js';
import { IPV6_PREFIX_LENGTH, TEREDO_PREFIX_ROUTE } from './plan.js';
import type { Ipv6HostNode, LabNode, RelayNode, RouterNode } from './plan.js';
import type { Report } from './topology.js';
import { pollUntil, settleAll } from './wait.js';
import { startBgpDelay } from './bgp-delay-process.js';
import { startRelayFrr } from './frr.js';

export interface FleetContext {
  readonly directory: string;
  namespace(node: string): LabNamespace;
  node(name: string): LabNode;
  readonly report: Report;
  /** Keeps a process for the lab's transcripts and teardown. */
  track(daemon: LabDaemon): void;
  /** The NAT nodes: with sharedIPv4 they reach the relays' shared address through the router. */
  readonly nats: readonly string[];
}

/** BGP sessions up within this time after BIRD starts (longer when the lab delays messages). */
const SESSION_TIMEOUT_MS = 30_000;

/** A veth from `outer` (in `outerNs`) to `inner` (in `innerNs`), both up, one IPv6 /64 address each. */
async function link(
  outerNs: LabNamespace,
  outer: string,
  outerIPv6: string,
  innerNs: LabNamespace,
  inner: string,
  innerIPv6: string,
): Promise<void> {
  await outerNs.ip(['link', 'add', outer, 'type', 'veth', 'peer', 'name', inner, 'netns', innerNs.name]);
  await outerNs.ip(['-6', 'addr', 'add', `${outerIPv6}/${IPV6_PREFIX_LENGTH}`, 'dev', outer, 'nodad']);
  await innerNs.ip(['-6', 'addr', 'add', `${innerIPv6}/${IPV6_PREFIX_LENGTH}`, 'dev', inner, 'nodad']);
  await outerNs.ip(['link', 'set', outer, 'up']);
  await innerNs.ip(['link', 'set', inner, 'up']);
}

export class Fleet {
  private readonly birds = new Map<string, { daemon: LabDaemon; socket: string }>();
  /** Processes that belong to a relay's machine rather than to its Teredo daemon. */
  private readonly machinePids = new Map<string, number[]>();

  constructor(
    private readonly context: FleetContext,
    readonly router: RouterNode,
  ) {}

  get relays(): readonly string[] {
    return this.router.relays;
  }

  relayNode(name: string): RelayNode & { uplink: NonNullable<RelayNode['uplink']> } {
    const node = this.context.node(name);
    if (node.role !== 'relay' || node.uplink === null) throw new Error(`${name} is not a relay of the fleet`);
    return { ...node, uplink: node.uplink };
  }

  /** Links, routes, counters, then BIRD everywhere; resolves once every BGP session is up. */
  async build(host: Ipv6HostNode): Promise<void> {
    const { context, router } = this;
    const routerNs = context.namespace(router.name);
    const hostNs = context.namespace(host.name);
    const [hostIPv6] = host.ipv6;
    if (hostIPv6 === undefined) throw new Error('the IPv6 host has no address');
    await link(routerNs, router.hostInterface, router.hostIPv6, hostNs, host.interfaceName, hostIPv6);
    await hostNs.ip(['-6', 'route', 'add', 'default', 'via', router.hostIPv6]);
    context.report(host.name, `native IPv6 host ${hostIPv6} behind the router (${router.hostIPv6})`);
    await context.namespace('server').ip(['-6', 'route', 'add', FLEET_HOST_PREFIX, 'via', ROUTER_WAN_IPV6]);
    await settleAll(
      this.relays.map(async (name) => {
        const { uplink } = this.relayNode(name);
        const relayNs = context.namespace(name);
        await link(
          routerNs,
          uplink.routerInterface,
          uplink.routerIPv6,
          relayNs,
          uplink.interfaceName,
          uplink.ipv6,
        );
        await relayNs.ip(['-6', 'route', 'add', 'default', 'via', uplink.routerIPv6]);
      }),
    );
    // One counting rule per relay link: what the router forwarded there towards Teredo addresses.
    const rules = this.relays.map((name) => [
      '-A',
      'FORWARD',
      '-o',
      this.relayNode(name).uplink.routerInterface,
      '-d',
      TEREDO_PREFIX_ROUTE,
    ]);
    await routerNs.run('ip6tables-restore', ['--noflush'], undefined, iptablesRestoreInput(rules));
    if (router.fleet.sharedIPv4) await this.shareIPv4();
    await this.startBirds();
  }

  /**
   * sharedIPv4: the shared address on every relay's loopback (a relay answers no ARP for it on
   * the WAN, and its ARP requests there carry its own address), and every NAT routes it via the
   * router, which learns it from each relay's BIRD.
   */
  private async shareIPv4(): Promise<void> {
    const { context } = this;
    await settleAll([
      ...this.relays.map(async (name) => {
        const ns = context.namespace(name);
        await ns.sysctls([
          ['net.ipv4.conf.all.arp_ignore', 1],
          ['net.ipv4.conf.all.arp_announce', 2],
        ]);
        await ns.ip(['addr', 'add', `${FLEET_SHARED_IPV4}/32`, 'dev', 'lo']);
      }),
      ...context.nats.map((name) =>
        context.namespace(name).ip(['route', 'add', `${FLEET_SHARED_IPV4}/32`, 'via', ROUTER_WAN_IPV4]),
      ),
    ]);
    context.report(
      this.router.name,
      `${FLEET_SHARED_IPV4} on every relay, routed by the NATs via ${ROUTER_WAN_IPV4}`,
    );
  }

  private async startBirds(): Promise<void> {
    const { router } = this;
    const peers = this.relays.map((name) => {
      const relay = this.relayNode(name);
      return { name, uplink: relay.uplink, ipv4: relay.ipv4[0] ?? '' };
    });
    await this.startBird(router.name, routerBirdConfig(router.fleet, peers));
    await settleAll(
      this.relays.map(async (name) => {
        const relay = this.relayNode(name);
        const routerId = relay.ipv4[0] ?? '';
        if (router.fleet.bgpDelayMs > 0) {
          const delayer = await startBgpDelay(
            this.context,
            name,
            relay.uplink,
            router.fleet.bgpDelayMs,
            BGP_DELAY_PORT,
          );
          this.machinePids.set(name, [...(this.machinePids.get(name) ?? []), delayer.pid]);
        }
        const routing =
          router.fleet.routing === 'frr'
            ? await startRelayFrr(this.context, { name, routerId, uplink: relay.uplink })
            : [await this.startBird(name, relayBirdConfig(router.fleet, routerId, relay.uplink))];
        const pids = routing.map((daemon) => daemon.pid);
        this.machinePids.set(name, [...(this.machinePids.get(name) ?? []), ...pids]);
      }),
    );
    await pollUntil(
      async () => {
        const sessions = await this.establishedPeers();
        const ipv4 = this.router.fleet.sharedIPv4 ? await this.establishedPeers(true) : sessions;
        return sessions.length === peers.length && ipv4.length === peers.length ? true : undefined;
      },
      SESSION_TIMEOUT_MS,
      `BGP sessions between the router and ${this.relays.join(', ')}`,
      this.birds.get(router.name)?.daemon,
    );
    const bfd = router.fleet.bfd ? 'with BFD' : 'without BFD';
    this.context.report(router.name, `BGP sessions up with ${this.relays.join(', ')} (${bfd})`);
  }

  private async startBird(node: string, config: string): Promise<LabDaemon> {
    const base = join(this.context.directory, `${node}-bird`);
    await writeFile(`${base}.conf`, config, { mode: 0o644 });
    const socket = `${base}.ctl`;
    const args = ['-f', '-c', `${base}.conf`, '-s', socket, '-P', `${base}.pid`];
    const child = this.context.namespace(node).spawn('bird', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const daemon = new LabDaemon(node, 'debian', 'bird', `${base}.conf`, child);
    this.context.track(daemon);
    this.birds.set(node, { daemon, socket });
    await pollUntil(
      async () =>
        (await runCommand('birdc', ['-s', socket, 'show', 'status'])).code === 0 ? true : undefined,
      10_000,
      `BIRD in ${node} to answer on ${socket}`,
      daemon,
    );
    this.context.report(node, `BIRD started, pid ${daemon.pid}`);
    return daemon;
  }

  /** Runs a birdc command against `node`'s BIRD (`show route`, `show protocols all`, ...). */
  async birdc(node: string, command: readonly string[]): Promise<string> {
    const bird = this.birds.get(node);
    if (bird === undefined) throw new Error(`no BIRD in ${node}`);
    const result = await runCommand('birdc', ['-s', bird.socket, ...command]);
    return result.stdout;
  }

  /** The relays whose BGP session with the router is established (`ipv4`: their IPv4 session, sharedIPv4). */
  async establishedPeers(ipv4 = false): Promise<string[]> {
    const table = await this.birdc(this.router.name, ['show', 'protocols']);
    return this.relays.filter((name) =>
      new RegExp(`^${ipv4 ? ipv4SessionName(name) : name}\\s+BGP\\s.*Established`, 'm').test(table),
    );
  }

  /** sharedIPv4: the relays that the router's route to the shared address has as nexthops, in relay order. */
  async routerNexthops4(): Promise<string[]> {
    const out = await this.context
      .namespace(this.router.name)
      .ip(['-4', '-j', 'route', 'show', `${FLEET_SHARED_IPV4}/32`]);
    const gateways = new Set<string>();
    const routes = JSON.parse(out === '' ? '[]' : out) as {
      gateway?: string;
      nexthops?: { gateway?: string }[];
    }[];
    for (const route of routes) {
      if (route.gateway !== undefined) gateways.add(route.gateway);
      for (const hop of route.nexthops ?? []) if (hop.gateway !== undefined) gateways.add(hop.gateway);
    }
    return this.relays.filter((name) => gateways.has(this.relayNode(name).ipv4[0] ?? ''));
  }

  /** The relays that the router's kernel route to 2001::/32 has as nexthops, in relay order. */
  async routerNexthops(): Promise<string[]> {
    const out = await this.context
      .namespace(this.router.name)
      .ip(['-6', '-j', 'route', 'show', TEREDO_PREFIX_ROUTE]);
    const devices = new Set<string>();
    const routes = JSON.parse(out === '' ? '[]' : out) as { dev?: string; nexthops?: { dev?: string }[] }[];
    for (const route of routes) {
      if (route.dev !== undefined) devices.add(route.dev);
      for (const hop of route.nexthops ?? []) if (hop.dev !== undefined) devices.add(hop.dev);
    }
    return this.relays.filter((name) => devices.has(this.relayNode(name).uplink.routerInterface));
  }

  /** Waits until the router's nexthops for 2001::/32 are exactly `relays`; resolves with the time it took. */
  async waitRouterNexthops(relays: readonly string[], timeoutMs: number): Promise<number> {
    const start = Date.now();
    const wanted = this.relays.filter((name) => relays.includes(name)).join(',');
    const shared = this.router.fleet.sharedIPv4;
    await pollUntil(
      async () =>
        (await this.routerNexthops()).join(',') === wanted &&
        (!shared || (await this.routerNexthops4()).join(',') === wanted)
          ? true
          : undefined,
      timeoutMs,
      `the router to route ${TEREDO_PREFIX_ROUTE} via ${wanted === '' ? 'no relay' : wanted}`,
    );
    const elapsedMs = Date.now() - start;
    this.context.report(
      this.router.name,
      `${TEREDO_PREFIX_ROUTE}${shared ? ` and ${FLEET_SHARED_IPV4}/32` : ''} via ${wanted || 'no relay'} after ${elapsedMs} ms`,
    );
    return elapsedMs;
  }

  /** Packets the router has forwarded to each relay towards 2001::/32 since the lab was built. */
  async relayTraffic(): Promise<Map<string, number>> {
    const table = await this.context
      .namespace(this.router.name)
      .run('ip6tables', ['-w', '-n', '-v', '-x', '-L', 'FORWARD']);
    const traffic = new Map<string, number>();
    for (const name of this.relays) {
      const device = this.relayNode(name).uplink.routerInterface;
      const row = table.split('\n').find((line) => line.trim().split(/\s+/).includes(device));
      traffic.set(name, Number(row?.trim().split(/\s+/)[0] ?? 0));
    }
    return traffic;
  }

  /**
   * kill -9 of the Teredo relay: SIGKILL to every process of `relay`'s namespace but its BIRD
   * and BGP delayer. Its tunnel goes with it, so does its kernel route, and BIRD withdraws.
   */
  async killRelay(relay: string): Promise<number[]> {
    this.relayNode(relay);
    const spared = this.machinePids.get(relay) ?? [];
    const pids = (await this.context.namespace(relay).pids()).filter((pid) => !spared.includes(pid));
    this.signal(pids, 'SIGKILL');
    this.context.report(relay, `killed the relay (kill -9, BIRD kept): pids ${pids.join(', ')}`);
    return pids;
  }

  /**
   * The relay's machine hangs: SIGSTOP to every process of its namespace, BIRD included. Its
   * tunnel and route stay, nothing is withdrawn: only BFD or the BGP hold timer tell the router.
   * (Killing BIRD would not do: the kernel closes its TCP session, which the router sees at once.)
   */
  async freezeRelay(relay: string): Promise<number[]> {
    this.relayNode(relay);
    const pids = await this.context.namespace(relay).pids();
    this.signal(pids, 'SIGSTOP');
    this.context.report(relay, `froze the relay's machine (SIGSTOP to pids ${pids.join(', ')})`);
    return pids;
  }

  /** SIGCONT to every process of the namespace: the frozen machine runs again. */
  async thawRelay(relay: string): Promise<void> {
    this.relayNode(relay);
    this.signal(await this.context.namespace(relay).pids(), 'SIGCONT');
    this.context.report(relay, "the relay's machine runs again (SIGCONT)");
  }

  private signal(pids: readonly number[], signal: NodeJS.Signals): void {
    for (const pid of pids) {
      try {
        process.kill(pid, signal);
      } catch {
        // Gone already.
      }
    }
  }
}
