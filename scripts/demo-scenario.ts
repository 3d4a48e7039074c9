/**
 * The demo's story, step by step, with this project's daemons in the lab: build the network,
 * start the server and the relay, let the three clients qualify, ping the native IPv6 host and
 * be pinged by it, show which relay each client found, ping between the two clients behind
 * cone NATs, and from the client behind the symmetric NAT to a fourth one (demo-symmetric.ts). A step that cannot run because an earlier one failed is skipped; the rest go on.
 */
import {
  formatCapturedPacket,
  IPV6HOST_IPV6,
  pollUntil,
  RELAY_IPV4,
  SERVER_IPV4,
  TEREDO_PREFIX_ROUTE,
} from './lab/index.js';
import type { Lab, NatKind, NatSpec, PacketCapture, Qualified, TeredoClient } from './lab/index.js';
import type { Interruption } from './demo-interrupt.js';
import { exchangeMs, judgePing, judgeQualification, judgeRelay, seconds } from './demo-judgements.js';
import type { DemoOutput } from './demo-output.js';
import { findRelay } from './demo-relay.js';
import { SAME_NAT_SPEC, sameNatScene, skipSameNat } from './demo-same-nat.js';
import type { DemoSession } from './demo-session.js';
import type { StepOutcome, StepRunner } from './demo-steps.js';
import { errorText, firstLine } from './demo-steps.js';
import {
  skipSymmetricScene,
  SYMMETRIC_CLIENT,
  SYMMETRIC_PEER,
  SYMMETRIC_SCENE_NATS,
  symmetricNatScene,
} from './demo-symmetric.js';

export interface DemoClient {
  readonly name: string;
  readonly nat: string;
  readonly natKind: NatKind;
}

export const DEMO_CLIENTS: readonly DemoClient[] = [
  { name: 'alice', nat: 'cone-nat-1', natKind: 'cone' },
  { name: 'bob', nat: 'cone-nat-2', natKind: 'cone' },
  { name: 'carol', nat: 'symmetric-nat', natKind: 'symmetric' },
];

export const DEMO_NATS: readonly NatSpec[] = [
  ...DEMO_CLIENTS.map((client) => ({ name: client.nat, kind: client.natKind, clients: [client.name] })),
  SAME_NAT_SPEC,
  ...SYMMETRIC_SCENE_NATS,
];

/** Pings between the two clients behind cone NATs, both ways. */
const CLIENT_PAIRS: readonly (readonly [string, string])[] = [
  ['alice', 'bob'],
  ['bob', 'alice'],
];

/** Every step's title, in one place so skipped steps carry the same names as run ones. */
export const STEP_TITLES = {
  lab: 'build the lab',
  server: 'start the Teredo server',
  relay: 'start the Teredo relay',
  qualify: (client: DemoClient) => `${client.name} qualifies behind ${client.nat}`,
  toHost: (client: DemoClient) => `${client.name} → IPv6 host`,
  relayFound: (client: DemoClient) => `relay found by ${client.name}`,
  fromHost: (client: DemoClient) => `IPv6 host → ${client.name}`,
  between: (from: string, to: string) => `${from} → ${to}`,
} as const;

const PING_COUNT = 3;
const PING_OPTIONS = { count: PING_COUNT, intervalSeconds: 0.2, deadlineSeconds: 5 } as const;
/** Generous: on a busy 2-core machine Node.js alone can take seconds to start each daemon. */
const QUALIFY_TIMEOUT_MS = 20_000;
const ROUTE_TIMEOUT_MS = 5_000;
/** Only UDP: the outer Teredo packets, where the relay's IPv4 address and port show. */
const CAPTURE_FILTER = 'udp';

type CaptureStart = { readonly capture: PacketCapture } | { readonly error: string };

export interface ScenarioContext {
  readonly output: DemoOutput;
  readonly steps: StepRunner;
  readonly session: DemoSession;
  readonly interruption: Interruption;
}

export async function runScenario(context: ScenarioContext): Promise<void> {
  const { output, steps, session, interruption } = context;

  output.heading('1. The network');
  output.say(
    'A Teredo server with two public IPv4 addresses, a relay, a host with native IPv6 only, and three clients,\n' +
      'each behind its own NAT (two cone NATs, one symmetric NAT), all in network namespaces.',
  );
  const lab = await steps.run(STEP_TITLES.lab, async () => {
    const startedAt = Date.now();
    const built = await session.createLab({ nats: DEMO_NATS });
    const detail = `${built.nodes.size} network namespaces (lab ${built.id}) in ${seconds(Date.now() - startedAt)}`;
    return { ok: true, detail, brief: detail, value: built };
  });
  if (lab === null) {
    skipAll(steps, 'the lab could not be built');
    return;
  }
  interruption.check();
  // tshark takes a second or two to start: it does so while the daemons start.
  const captures = new Map(DEMO_CLIENTS.map((client) => [client.name, startCapture(lab, client.name)]));

  output.heading('2. Server and relay (this project: bin/miredo-server, bin/miredo with RelayType cone)');
  // Both start at once; their lines come in a fixed order.
  const serverStart = early(lab.startServer('ours'));
  const relayStart = early(lab.startRelay('ours', { relayType: 'cone' }));
  const server = await steps.run(STEP_TITLES.server, async () => {
    await serverStart;
    const detail = `our miredo-server answers on ${SERVER_IPV4.map((ip) => `${ip}:3544`).join(' and ')}`;
    return { ok: true, detail, brief: detail, value: true };
  });
  const relay = await steps.run(STEP_TITLES.relay, async () => {
    await relayStart;
    return {
      ok: true,
      detail: `our miredo relay at ${RELAY_IPV4} routes ${TEREDO_PREFIX_ROUTE} into its tunnel; the IPv6 host sends ${TEREDO_PREFIX_ROUTE} to it`,
      brief: `relay ${RELAY_IPV4}, routes ${TEREDO_PREFIX_ROUTE}`,
      value: true,
    };
  });
  if (server === null) {
    skipAfterServer(steps, 'the server did not start');
    return;
  }

  output.heading('3. Qualification (bin/miredo as client)');
  output.say(
    'Each client asks the server (Router Solicitation); the answer tells it its public IPv4 address and port\n' +
      'as the server saw them, which it encodes, with the server address, in its Teredo address.',
  );
  const qualifying = DEMO_CLIENTS.map((client) => early(qualify(lab, client)));
  const qualified = new Map<string, Qualified>();
  for (const [index, client] of DEMO_CLIENTS.entries()) {
    const attempt = qualifying[index];
    if (attempt === undefined) continue;
    const value = await steps.run(STEP_TITLES.qualify(client), () => attempt);
    if (value !== null) qualified.set(client.name, value);
  }

  session.labChatter = false;
  output.heading('4. Clients and the native IPv6 host (through the relay)');
  output.say(
    `The IPv6 host routes ${TEREDO_PREFIX_ROUTE} to the relay; a client finds the relay the first time it talks to the host.`,
  );
  for (const client of DEMO_CLIENTS) {
    await hostExchange(context, lab, client, qualified.get(client.name), relay !== null, captures);
  }

  output.heading('5. Client to client, across two cone NATs');
  output.say('The server relays the first bubbles; after that the two clients talk directly, NAT to NAT.');
  for (const [from, to] of CLIENT_PAIRS) await clientToClient(steps, lab, from, to, qualified);

  await sameNatScene(context, lab, '6. Two clients behind one NAT that does not hairpin');
  await symmetricNatScene(context, lab, qualified.get(SYMMETRIC_CLIENT), () => qualify(lab, SYMMETRIC_PEER));
}

/** Work started now and judged later as a step: an early failure must not count as unhandled. */
function early<T>(work: Promise<T>): Promise<T> {
  work.catch(() => undefined);
  return work;
}

async function startCapture(lab: Lab, node: string): Promise<CaptureStart> {
  try {
    return { capture: await lab.capture(node, { filter: CAPTURE_FILTER }) };
  } catch (error) {
    return { error: firstLine(errorText(error)) };
  }
}

async function qualify(lab: Lab, client: DemoClient): Promise<StepOutcome<Qualified>> {
  const started: TeredoClient = await lab.startClient(client.name, 'ours');
  const qualified = await started.waitQualified(QUALIFY_TIMEOUT_MS);
  // The address comes first, the default route an instant later: ready means both.
  await pollUntil(
    async () => {
      const routes = await lab.exec(client.name, 'ip', [
        '-6',
        'route',
        'show',
        'default',
        'dev',
        started.interfaceName,
      ]);
      return routes.code === 0 && routes.stdout.trim() !== '' ? true : undefined;
    },
    ROUTE_TIMEOUT_MS,
    `the default route through ${client.name}'s ${started.interfaceName}`,
    started.daemon,
  );
  const nat = lab.node(client.nat);
  if (nat.role !== 'nat') throw new Error(`${client.nat} is not a NAT`);
  return judgeQualification(qualified, {
    natName: client.nat,
    exchangeMs: exchangeMs(started.daemon.output),
    natPublicIPv4: nat.wanIPv4,
    expectedServer: SERVER_IPV4[0],
  });
}

async function hostExchange(
  context: ScenarioContext,
  lab: Lab,
  client: DemoClient,
  qualified: Qualified | undefined,
  relayStarted: boolean,
  captures: ReadonlyMap<string, Promise<CaptureStart>>,
): Promise<void> {
  const { steps } = context;
  const titles = {
    out: STEP_TITLES.toHost(client),
    relay: STEP_TITLES.relayFound(client),
    back: STEP_TITLES.fromHost(client),
  };
  const why = qualified === undefined ? `${client.name} did not qualify` : 'the relay did not start';
  if (qualified === undefined || !relayStarted) {
    for (const title of Object.values(titles)) steps.skip(title, why);
    return;
  }
  const capture = await (captures.get(client.name) ?? Promise.resolve({ error: 'no capture started' }));
  await steps.run(titles.out, async () =>
    judgePing(
      await lab.ping6(client.name, IPV6HOST_IPV6, PING_OPTIONS),
      PING_COUNT,
      'the first one includes finding the relay',
    ),
  );
  await steps.run(titles.relay, async () => {
    if ('error' in capture) throw new Error(`no packet capture: ${capture.error}`);
    const packets = await capture.capture.stop();
    const judged = judgeRelay(findRelay(packets, IPV6HOST_IPV6), IPV6HOST_IPV6, RELAY_IPV4);
    return {
      ...judged,
      report: `captured on ${client.name}:\n${packets.map(formatCapturedPacket).join('\n')}`,
    };
  });
  await steps.run(titles.back, async () =>
    judgePing(await lab.ping6('ipv6host', qualified.address, PING_OPTIONS), PING_COUNT),
  );
}

async function clientToClient(
  steps: StepRunner,
  lab: Lab,
  from: string,
  to: string,
  qualified: ReadonlyMap<string, Qualified>,
): Promise<void> {
  const title = STEP_TITLES.between(from, to);
  const target = qualified.get(to);
  if (!qualified.has(from) || target === undefined) {
    steps.skip(title, `${qualified.has(from) ? to : from} did not qualify`);
    return;
  }
  await steps.run(title, async () =>
    judgePing(await lab.ping6(from, target.address, PING_OPTIONS), PING_COUNT),
  );
}

function skipAll(steps: StepRunner, reason: string): void {
  steps.skip(STEP_TITLES.server, reason);
  steps.skip(STEP_TITLES.relay, reason);
  skipAfterServer(steps, reason);
}

function skipAfterServer(steps: StepRunner, reason: string): void {
  for (const client of DEMO_CLIENTS) steps.skip(STEP_TITLES.qualify(client), reason);
  for (const client of DEMO_CLIENTS) {
    steps.skip(STEP_TITLES.toHost(client), reason);
    steps.skip(STEP_TITLES.relayFound(client), reason);
    steps.skip(STEP_TITLES.fromHost(client), reason);
  }
  for (const [from, to] of CLIENT_PAIRS) steps.skip(STEP_TITLES.between(from, to), reason);
  skipSameNat(steps, reason);
  skipSymmetricScene(steps, reason);
}
