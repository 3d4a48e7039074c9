/**
 * The demo's same-NAT scene: two of our clients behind one NAT that does not hairpin (a datagram
 * from its LAN to its own public address never comes back in), which is where Miredo 1.2.6 fails
 * both ways. Ours find each other by local client discovery (RFC 4380 section 5.2.8: bubbles to
 * 224.0.0.253 on the LAN) and talk directly by their local addresses.
 */
import type { Lab, NatSpec, Qualified } from './lab/index.js';
import { judgePing } from './demo-judgements.js';
import type { DemoOutput } from './demo-output.js';
import type { StepRunner } from './demo-steps.js';

const NAT = 'home-nat';
const CLIENTS = ['dave', 'erin'] as const;
const PAIRS: readonly (readonly [string, string])[] = [
  ['dave', 'erin'],
  ['erin', 'dave'],
];
const PING_COUNT = 3;
const PING_OPTIONS = { count: PING_COUNT, intervalSeconds: 0.2, deadlineSeconds: 7 } as const;
const QUALIFY_TIMEOUT_MS = 20_000;

/** The scene's NAT: a port-restricted cone, no hairpinning. */
export const SAME_NAT_SPEC: NatSpec = { name: NAT, kind: 'cone', clients: [...CLIENTS] };

export const SAME_NAT_TITLES = {
  qualify: (client: string) => `${client} qualifies behind ${NAT}`,
  between: (from: string, to: string) => `${from} → ${to}, same NAT (Miredo fails)`,
} as const;

export function skipSameNat(steps: StepRunner, reason: string): void {
  for (const client of CLIENTS) steps.skip(SAME_NAT_TITLES.qualify(client), reason);
  for (const [from, to] of PAIRS) steps.skip(SAME_NAT_TITLES.between(from, to), reason);
}

export async function sameNatScene(
  context: { readonly output: DemoOutput; readonly steps: StepRunner },
  lab: Lab,
  heading: string,
): Promise<void> {
  const { output, steps } = context;
  output.heading(heading);
  output.say(
    `dave and erin share ${NAT}, which does not hairpin: a packet to its own public address never comes back in,\n` +
      'so the public mappings in their Teredo addresses do not reach each other. Miredo 1.2.6 fails here, both ways.\n' +
      'Ours announce themselves on the LAN (a bubble to 224.0.0.253, RFC 4380 local discovery) and talk by local addresses.',
  );
  const qualified = new Map<string, Qualified>();
  for (const client of CLIENTS) {
    const value = await steps.run(SAME_NAT_TITLES.qualify(client), async () => {
      const started = await lab.startClient(client, 'ours');
      const address = await started.waitQualified(QUALIFY_TIMEOUT_MS);
      const detail = `${address.address} (public ${address.mappedIPv4}:${address.mappedPort}, as for the other one)`;
      return { ok: true, detail, brief: address.address, value: address };
    });
    if (value !== null) qualified.set(client, value);
  }
  for (const [from, to] of PAIRS) {
    const title = SAME_NAT_TITLES.between(from, to);
    const target = qualified.get(to);
    if (!qualified.has(from) || target === undefined) {
      steps.skip(title, `${qualified.has(from) ? to : from} did not qualify`);
      continue;
    }
    await steps.run(title, async () =>
      judgePing(await lab.ping6(from, target.address, PING_OPTIONS), PING_COUNT, 'found on the LAN'),
    );
  }
}
