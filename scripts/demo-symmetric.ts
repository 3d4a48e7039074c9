/**
 * The demo's RFC 6081 scene: carol, behind the symmetric NAT, speaks first to frank, behind an
 * address-restricted cone NAT: the pair Miredo 1.2.6 cannot connect that way (README, NAT
 * traversal). Its own function and client, so that other scenes come and go without it.
 */
import type { Lab, NatSpec, Qualified } from './lab/index.js';
import { judgePing } from './demo-judgements.js';
import type { DemoOutput } from './demo-output.js';
import type { DemoClient } from './demo-scenario.js';
import type { StepOutcome, StepRunner } from './demo-steps.js';

/** The client behind the symmetric NAT (one of the demo's three) and its peer, this scene's own. */
export const SYMMETRIC_CLIENT = 'carol';
export const SYMMETRIC_PEER: DemoClient = {
  name: 'frank',
  nat: 'restricted-nat',
  natKind: 'address-restricted',
};
export const SYMMETRIC_SCENE_NATS: readonly NatSpec[] = [
  { name: SYMMETRIC_PEER.nat, kind: SYMMETRIC_PEER.natKind, clients: [SYMMETRIC_PEER.name] },
];

export const SYMMETRIC_TITLES = {
  qualify: `${SYMMETRIC_PEER.name} qualifies behind ${SYMMETRIC_PEER.nat}`,
  between: `${SYMMETRIC_CLIENT} → ${SYMMETRIC_PEER.name}`,
} as const;

const PING_COUNT = 3;
/** Up to three rounds of bubbles through the servers before the first reply. */
const PING_OPTIONS = { count: PING_COUNT, intervalSeconds: 0.2, deadlineSeconds: 7 } as const;

export interface SymmetricSceneContext {
  readonly output: DemoOutput;
  readonly steps: StepRunner;
}

export async function symmetricNatScene(
  { output, steps }: SymmetricSceneContext,
  lab: Lab,
  carol: Qualified | undefined,
  qualifyPeer: () => Promise<StepOutcome<Qualified>>,
): Promise<void> {
  output.heading('7. Client to client, from behind a symmetric NAT (RFC 6081)');
  output.say(
    `${SYMMETRIC_CLIENT}'s symmetric NAT gives every destination its own port, so ${SYMMETRIC_PEER.name}'s answers to the port\n` +
      `in ${SYMMETRIC_CLIENT}'s address are dropped. Miredo 1.2.6 fails here when ${SYMMETRIC_CLIENT} speaks first; ours sends a bubble\n` +
      `back through ${SYMMETRIC_CLIENT}'s server, and ${SYMMETRIC_CLIENT} answers it from the port its NAT uses towards ${SYMMETRIC_PEER.name}.`,
  );
  const peer = await steps.run(SYMMETRIC_TITLES.qualify, qualifyPeer);
  if (carol === undefined || peer === null) {
    steps.skip(
      SYMMETRIC_TITLES.between,
      `${carol === undefined ? SYMMETRIC_CLIENT : SYMMETRIC_PEER.name} did not qualify`,
    );
    return;
  }
  await steps.run(SYMMETRIC_TITLES.between, async () =>
    judgePing(
      await lab.ping6(SYMMETRIC_CLIENT, peer.address, PING_OPTIONS),
      PING_COUNT,
      'Miredo 1.2.6 gets no reply here',
    ),
  );
}

/** The scene's steps, skipped for `reason`. */
export function skipSymmetricScene(steps: StepRunner, reason: string): void {
  steps.skip(SYMMETRIC_TITLES.qualify, reason);
  steps.skip(SYMMETRIC_TITLES.between, reason);
}
