/**
 * Observing a lab NAT with plain UDP, so that its label is proven rather than assumed: a probe
 * socket in a client namespace sends to responders on the public side (the server's two
 * addresses and the relay's), which report the source they saw (the client's mapping), and
 * strangers send to that mapping unasked. classifyNat turns what was seen into RFC 4787 terms.
 *
 * Whether an unsolicited datagram got through is decided without sleeping: the same agent then
 * sends markers along the same path (same namespace, interfaces and NAT) from an endpoint the
 * client did contact; once they are in, the earlier datagram is in too or was dropped.
 */
import type { Lab } from './lab.js';
import type { FilteringBehaviour, MappingBehaviour } from './nat-kinds.js';
import { IPV4_PREFIX_LENGTH, RELAY_IPV4, SERVER_IPV4 } from './plan.js';
import type { Endpoint, UdpAgent } from './udp-agent-client.js';
import { pollUntil } from './wait.js';

const WAIT_MS = 5000;
const [SERVER_PRIMARY = '', SERVER_SECONDARY = ''] = SERVER_IPV4;
/**
 * An address the probes add to the relay's namespace for a stranger: its agent also holds an
 * endpoint the client contacts (for the marker) on the relay's own address.
 */
export const PROBE_STRANGER_IPV4 = '198.51.100.4';

/** The public endpoints a probe uses, by role. */
const RESPONDERS = {
  /** Contacted first; also sends the marker for the first filtering check. */
  first: { node: 'server', address: SERVER_PRIMARY, port: 4001 },
  otherAddress: { node: 'server', address: SERVER_SECONDARY, port: 4001 },
  otherPort: { node: 'server', address: SERVER_PRIMARY, port: 4002 },
  /** Never contacted, on a contacted address: sends unasked. */
  strangerSameAddress: { node: 'server', address: SERVER_PRIMARY, port: 4009 },
  /** Contacted; sends the marker for the second filtering check. */
  thirdAddress: { node: 'relay', address: RELAY_IPV4, port: 4001 },
  /** Never contacted until the end, on an address never contacted before: sends unasked. */
  stranger: { node: 'relay', address: PROBE_STRANGER_IPV4, port: 4002 },
  /** Contacted only after the strangers sent. */
  late: { node: 'relay', address: RELAY_IPV4, port: 4003 },
} as const;
type Responder = keyof typeof RESPONDERS;

/** The responders' agents in the server and relay namespaces, set up once per lab. */
export class NatResponders {
  private constructor(private readonly agents: ReadonlyMap<string, UdpAgent>) {}

  static async start(lab: Lab): Promise<NatResponders> {
    const relay = lab.node('relay');
    if (relay.role !== 'relay') throw new Error('the lab has no relay node');
    await lab
      .namespace('relay')
      .ip(['addr', 'add', `${PROBE_STRANGER_IPV4}/${IPV4_PREFIX_LENGTH}`, 'dev', relay.interfaceName]);
    const agents = new Map([
      ['server', lab.udpAgent('server')],
      ['relay', lab.udpAgent('relay')],
    ]);
    for (const [name, responder] of Object.entries(RESPONDERS)) {
      await agents.get(responder.node)?.bind(name, responder.address, responder.port);
    }
    return new NatResponders(agents);
  }

  endpoint(responder: Responder): Endpoint {
    return RESPONDERS[responder];
  }

  agent(responder: Responder): UdpAgent {
    const agent = this.agents.get(RESPONDERS[responder].node);
    if (agent === undefined) throw new Error(`no agent for ${responder}`);
    return agent;
  }

  /** The client's mapping as `responder` sees it: sends `token` from the client and waits for it. */
  async mappingSeenBy(client: UdpAgent, responder: Responder, token: string): Promise<Endpoint> {
    await client.send('probe', this.endpoint(responder), token);
    const received = await this.agent(responder).receive(token, WAIT_MS);
    return { address: received.from, port: received.port };
  }

  /** Whether `token`, sent unasked from `stranger` to `mapping`, reaches the client (decided by `marker`). */
  async reaches(
    client: UdpAgent,
    stranger: Responder,
    mapping: Endpoint,
    marker: { readonly from: Responder; readonly to: Endpoint },
    token: string,
  ): Promise<boolean> {
    await this.agent(stranger).send(stranger, mapping, token);
    // Two markers, one after the other has arrived: even a datagram overtaken on its way
    // (sent from another CPU's queue) is in before the second.
    for (const round of ['marker', 'second-marker']) {
      await this.agent(marker.from).send(marker.from, marker.to, `${token}-${round}`);
      await client.receive(`${token}-${round}`, WAIT_MS);
    }
    return client.receivedWith(token).length > 0;
  }
}

export interface NatObservation {
  /** The probe socket's own port. */
  readonly localPort: number;
  /** Mappings towards fresh destinations, in the order they were made. */
  readonly mappings: readonly Endpoint[];
  /** The mapping towards the stranger that had sent to the client's first mapping unasked. */
  readonly mappingToStranger: Endpoint;
  /** An unasked datagram from a contacted address, other port, got through. */
  readonly fromContactedAddress: boolean;
  /** An unasked datagram from an address never contacted got through. */
  readonly fromStranger: boolean;
}

/** Probes the NAT in front of `client` (a client node) with a fresh socket. */
export async function observeNat(
  lab: Lab,
  responders: NatResponders,
  client: string,
): Promise<NatObservation> {
  const agent = lab.udpAgent(client);
  const local = await agent.bind('probe');
  const token = (step: string): string => `${client}:${step}`;
  const first = await responders.mappingSeenBy(agent, 'first', token('first'));
  const otherAddress = await responders.mappingSeenBy(agent, 'otherAddress', token('other-address'));
  const otherPort = await responders.mappingSeenBy(agent, 'otherPort', token('other-port'));
  const third = await responders.mappingSeenBy(agent, 'thirdAddress', token('third-address'));
  const fromContactedAddress = await responders.reaches(
    agent,
    'strangerSameAddress',
    first,
    { from: 'first', to: first },
    token('unasked-same-address'),
  );
  const fromStranger = await responders.reaches(
    agent,
    'stranger',
    first,
    { from: 'thirdAddress', to: third },
    token('unasked-stranger'),
  );
  const late = await responders.mappingSeenBy(agent, 'late', token('late'));
  const mappingToStranger = await responders.mappingSeenBy(agent, 'stranger', token('to-stranger'));
  agent.stop();
  return {
    localPort: local.port,
    mappings: [first, otherAddress, otherPort, third, late],
    mappingToStranger,
    fromContactedAddress,
    fromStranger,
  };
}

export interface NatClassification {
  readonly mapping: MappingBehaviour | 'inconsistent';
  readonly filtering: FilteringBehaviour | 'inconsistent';
}

const same = (a: Endpoint, b: Endpoint): boolean => a.address === b.address && a.port === b.port;

function classifyMapping(observation: NatObservation): MappingBehaviour | 'inconsistent' {
  const { mappings, mappingToStranger, localPort } = observation;
  const [first] = mappings;
  if (first === undefined) return 'inconsistent';
  const sameAddress = [...mappings, mappingToStranger].every((mapping) => mapping.address === first.address);
  if (!sameAddress) return 'inconsistent';
  const allFirst = mappings.every((mapping) => same(mapping, first));
  if (allFirst && same(mappingToStranger, first)) return 'endpoint-independent';
  if (allFirst && first.port === localPort) return 'port-preserving';
  const ports = [...mappings, mappingToStranger].map((mapping) => mapping.port);
  if (ports.every((port, index) => index === 0 || port === (ports[index - 1] ?? 0) + 1)) return 'sequential';
  return new Set(ports).size === ports.length && !ports.includes(localPort) ? 'random' : 'inconsistent';
}

function classifyFiltering(observation: NatObservation): FilteringBehaviour | 'inconsistent' {
  if (observation.fromStranger) {
    return observation.fromContactedAddress ? 'endpoint-independent' : 'inconsistent';
  }
  return observation.fromContactedAddress ? 'address-dependent' : 'address-and-port-dependent';
}

/** What the observation says the NAT is; 'inconsistent' when it fits none of the kinds. */
export function classifyNat(observation: NatObservation): NatClassification {
  return { mapping: classifyMapping(observation), filtering: classifyFiltering(observation) };
}

export function formatNatObservation(observation: NatObservation): string {
  const endpoint = (mapping: Endpoint): string => `${mapping.address}:${mapping.port}`;
  return (
    `local port ${observation.localPort}, mappings ${observation.mappings.map(endpoint).join(', ')}, ` +
    `to the stranger ${endpoint(observation.mappingToStranger)}; unasked from a contacted address ` +
    `${observation.fromContactedAddress ? 'delivered' : 'dropped'}, from a stranger ` +
    `${observation.fromStranger ? 'delivered' : 'dropped'}`
  );
}

export interface HairpinObservation {
  /** A's datagram to B's public mapping reached B. */
  readonly delivered: boolean;
  /** The source B saw: A's public mapping when the NAT hairpins. */
  readonly seenSource: Endpoint | null;
  readonly aMapping: Endpoint;
  /** B's answer to that source reached A, from B's public mapping. */
  readonly answered: boolean;
}

/** UDP datagrams the NAT's own stack took for a closed port (/proc/net/snmp Udp NoPorts). */
async function udpNoPorts(lab: Lab, nat: string): Promise<number> {
  const snmp = await lab.run(nat, 'cat', ['/proc/net/snmp']);
  const [names, values] = snmp.split('\n').filter((line) => line.startsWith('Udp:'));
  const column = names?.split(/\s+/).indexOf('NoPorts') ?? -1;
  return Number(values?.split(/\s+/)[column] ?? Number.NaN);
}

/**
 * Client `a` sends to client `b`'s public mapping through their common NAT `nat`. Without
 * hairpinning the NAT's own stack takes the datagram (its NoPorts counter grows): that is the
 * event that proves it will never reach `b`.
 */
export async function observeHairpinning(
  lab: Lab,
  responders: NatResponders,
  nat: string,
  a: string,
  b: string,
): Promise<HairpinObservation> {
  const [agentA, agentB] = [lab.udpAgent(a), lab.udpAgent(b)];
  await Promise.all([agentA.bind('probe'), agentB.bind('probe')]);
  const aMapping = await responders.mappingSeenBy(agentA, 'first', `${a}:hairpin-map`);
  const bMapping = await responders.mappingSeenBy(agentB, 'first', `${b}:hairpin-map`);
  const before = await udpNoPorts(lab, nat);
  const token = `${a}:hairpin`;
  await agentA.send('probe', bMapping, token);
  const arrived = await pollUntil(
    async () => {
      const [received] = agentB.receivedWith(token);
      if (received !== undefined) return received;
      return (await udpNoPorts(lab, nat)) > before ? null : undefined;
    },
    WAIT_MS,
    `${token} at ${b}, or ${nat} taking it itself`,
  );
  let answered = false;
  if (arrived !== null) {
    await agentB.send('probe', { address: arrived.from, port: arrived.port }, `${b}:hairpin-answer`);
    const answer = await agentA.receive(`${b}:hairpin-answer`, WAIT_MS);
    answered = same({ address: answer.from, port: answer.port }, bMapping);
  }
  agentA.stop();
  agentB.stop();
  return {
    delivered: arrived !== null,
    seenSource: arrived === null ? null : { address: arrived.from, port: arrived.port },
    aMapping,
    answered,
  };
}
