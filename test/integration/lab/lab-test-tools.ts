/**
 * Shared bits of the lab tests: the standard topology, failures that carry the lab's story, and
 * a fixture that builds one lab for a describe block and runs the steps its tests share.
 */
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import type { TestContext } from 'node:test';
import {
  createLab,
  formatCapturedPacket,
  formatProgress,
  formatPing,
  IPV6HOST_IPV6,
  SERVER_IPV4,
} from '../../../scripts/lab/index.js';
import type {
  CapturedPacket,
  CreateLabOptions,
  Lab,
  NatSpec,
  PingOptions,
  PingResult,
  Qualified,
  TeredoClient,
} from '../../../scripts/lab/index.js';
import { describeStartup } from './tunnel-tools.js';

export const QUALIFY_TIMEOUT_MS = 15_000;

/** Two cone NATs with one client each (alice, bob) and a symmetric one (carol). */
export const STANDARD_NATS: readonly NatSpec[] = [
  { name: 'cone1', kind: 'cone', clients: ['alice'] },
  { name: 'cone2', kind: 'cone', clients: ['bob'] },
  { name: 'sym1', kind: 'symmetric', clients: ['carol'] },
];

/** Collects the lab's progress lines so a failure can show them. */
export class LabStory {
  readonly lines: string[] = [];
  readonly listener = (event: Parameters<typeof formatProgress>[0]): void => {
    this.lines.push(formatProgress(event));
  };

  /** Runs `body`; on failure the error also tells what the lab did and what the daemons printed. */
  async explain<T>(lab: Lab | undefined, body: () => Promise<T>): Promise<T> {
    try {
      return await body();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const daemons = lab === undefined ? '' : `\n--- daemon output\n${lab.transcripts()}`;
      throw new Error(`${message}\n--- lab steps\n${this.lines.join('\n')}${daemons}`, { cause: error });
    }
  }
}

export async function qualifyAll(
  t: TestContext,
  lab: Lab,
  clients: ReadonlyMap<string, TeredoClient>,
): Promise<Map<string, Qualified>> {
  const entries = await Promise.all(
    [...clients].map(
      async ([name, client]) => [name, await lab.waitQualified(client, QUALIFY_TIMEOUT_MS)] as const,
    ),
  );
  for (const [name, qualified] of entries) {
    t.diagnostic(
      `${name} qualified in ${qualified.elapsedMs} ms: ${qualified.address} (mapped ${qualified.mappedIPv4}:${qualified.mappedPort})`,
    );
  }
  return new Map(entries);
}

/** Pings and reports the RTTs in the test output. */
export async function ping(
  t: TestContext,
  lab: Lab,
  from: string,
  to: string,
  options?: PingOptions,
): Promise<PingResult> {
  const result = await lab.ping6(from, to, options);
  t.diagnostic(formatPing(result));
  return result;
}

export function qualifiedOf(
  addresses: ReadonlyMap<string, Qualified> | undefined,
  client: string,
): Qualified {
  const qualified = addresses?.get(client);
  if (qualified === undefined) throw new Error(`${client} never qualified`);
  return qualified;
}

export function addressOf(addresses: ReadonlyMap<string, Qualified> | undefined, client: string): string {
  return qualifiedOf(addresses, client).address;
}

/** Pings while capturing on the server: what the server did for this exchange. */
export async function pingThroughServer(
  t: TestContext,
  lab: Lab,
  from: string,
  to: string,
): Promise<{ readonly ping: PingResult; readonly atServer: readonly CapturedPacket[] }> {
  const capture = await lab.capture('server');
  const result = await ping(t, lab, from, to);
  const atServer = await capture.stop();
  return { ping: result, atServer };
}

/**
 * The bubble the server relayed from `source` to `destination` (RFC 4380 5.3.1: sent from its
 * primary address, port 3544, to the destination's mapping, with an origin indication that
 * carries the source's mapping), if it is among `packets`.
 */
export function relayedBubble(
  packets: readonly CapturedPacket[],
  source: Qualified,
  destination: Qualified,
): CapturedPacket | undefined {
  return packets.find(
    (packet) =>
      packet.kind === 'bubble' &&
      packet.udp?.src === SERVER_IPV4[0] &&
      packet.udp.srcPort === 3544 &&
      packet.udp.dst === destination.mappedIPv4 &&
      packet.udp.dstPort === destination.mappedPort &&
      packet.ipv6?.dst === destination.address &&
      packet.origin?.ipv4 === source.mappedIPv4 &&
      packet.origin.port === source.mappedPort,
  );
}

export function describePackets(packets: readonly CapturedPacket[]): string {
  return packets.map(formatCapturedPacket).join('\n');
}

/** Pings `to` from `from` and asserts that every one of the 3 echo requests got its reply. */
export async function pingAnswered(t: TestContext, lab: Lab, from: string, to: string): Promise<PingResult> {
  const result = await ping(t, lab, from, to);
  assert.equal(result.received, 3, result.transcript);
  return result;
}

/**
 * One lab for the tests of a describe block: `useLab` builds it in a `before` hook (running
 * `start` to launch its daemons, which registers clients in `clients`) and destroys it after.
 * Every step runs under the story, so a failure tells what the lab did.
 */
export class LabFixture {
  readonly story = new LabStory();
  readonly clients = new Map<string, TeredoClient>();
  lab: Lab | undefined;
  addresses: Map<string, Qualified> | undefined;

  /** The lab, which a test needs built. */
  active(): Lab {
    assert.ok(this.lab);
    return this.lab;
  }

  /** Runs `body` with the lab; a failure also tells the lab's steps and the daemons' output. */
  explain<T>(body: (lab: Lab) => Promise<T>): Promise<T> {
    const lab = this.active();
    return this.story.explain(lab, () => body(lab));
  }

  address(client: string): string {
    return addressOf(this.addresses, client);
  }

  qualified(client: string): Qualified {
    return qualifiedOf(this.addresses, client);
  }

  /**
   * Waits for every client to qualify with the lab's server (`serverName` in the messages), each
   * seen at its NAT's WAN address and without the cone flag; reports our clients' start-up.
   */
  async qualifyBehindNats(t: TestContext, serverName: string): Promise<Map<string, Qualified>> {
    const addresses = await this.explain((lab) => qualifyAll(t, lab, this.clients));
    this.addresses = addresses;
    const lab = this.active();
    for (const [name, qualified] of addresses) {
      const client = this.clients.get(name);
      if (client?.daemon.impl === 'ours') t.diagnostic(describeStartup(client, qualified));
      const node = lab.node(name);
      assert.ok(node.role === 'client' && node.nat !== null);
      const nat = lab.node(node.nat);
      assert.ok(nat.role === 'nat');
      assert.equal(qualified.server, SERVER_IPV4[0], `${name}'s address names ${serverName}`);
      assert.equal(
        qualified.mappedIPv4,
        nat.wanIPv4,
        `${name}'s address carries its ${nat.kind} NAT's mapping`,
      );
      assert.equal(qualified.cone, false, `${name} does not claim the cone flag`);
    }
    return addresses;
  }

  /** Pings `to` (a client's name, or an address) from `from`; all 3 must be answered. */
  pingAnswered(t: TestContext, from: string, to: string): Promise<PingResult> {
    const destination = this.clients.has(to) ? this.address(to) : to;
    return this.explain((lab) => pingAnswered(t, lab, from, destination));
  }

  /** `first` pings `second`, then `second` pings `first`: each of them a client or a node. */
  async pingBothWays(t: TestContext, first: string, second: string): Promise<void> {
    await this.pingAnswered(t, first, second);
    await this.pingAnswered(t, second, first);
  }

  /** The IPv6 host pings the client first (no prior traffic from it), then the client the host. */
  async pingWithIPv6Host(t: TestContext, client: string): Promise<void> {
    await this.pingAnswered(t, 'ipv6host', client);
    await this.explain((lab) => pingAnswered(t, lab, client, IPV6HOST_IPV6));
  }

  /**
   * Two clients behind cone NATs ping each other, `first` first; the server must relay first's
   * bubble to second with first's mapping as origin (RFC 4380 5.3.1).
   */
  async pingAcrossConesThroughServer(t: TestContext, first: string, second: string): Promise<void> {
    const from = this.qualified(first);
    const to = this.qualified(second);
    const there = await this.explain((lab) => pingThroughServer(t, lab, first, to.address));
    assert.equal(there.ping.received, 3, there.ping.transcript);
    assert.ok(
      relayedBubble(there.atServer, from, to),
      `the server relays ${first}'s bubble to ${second}, with ${first}'s mapping as origin:\n${describePackets(there.atServer)}`,
    );
    await this.pingAnswered(t, second, first);
  }
}

/** A `LabFixture` whose lab `before` builds with `options` and `start`, and `after` destroys. */
export function useLab(
  options: Omit<CreateLabOptions, 'onProgress'>,
  start: (lab: Lab, clients: Map<string, TeredoClient>) => Promise<void>,
): LabFixture {
  const fixture = new LabFixture();
  before(async () => {
    fixture.lab = await createLab({ ...options, onProgress: fixture.story.listener });
    const lab = fixture.lab;
    await fixture.story.explain(lab, () => start(lab, fixture.clients));
  });
  after(async () => {
    await fixture.lab?.destroy();
  });
  return fixture;
}
