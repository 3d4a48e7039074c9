/**
 * The smallest whole Teredo network, all ours: a server, a relay, and client `alice` behind a
 * cone NAT, qualified. The lab is destroyed if a daemon fails to start.
 */
import { createLab } from '../../scripts/lab/index.js';
import type {
  Lab,
  LabDaemon,
  Qualified,
  StartClientOptions,
  StartRelayOptions,
  StartServerOptions,
  TeredoClient,
} from '../../scripts/lab/index.js';

export interface OneClientLab {
  readonly lab: Lab;
  readonly server: LabDaemon;
  readonly relay: LabDaemon;
  readonly alice: TeredoClient;
  readonly qualified: Qualified;
}

export async function startOneClientLab(options: {
  readonly server?: StartServerOptions;
  readonly relay?: StartRelayOptions;
  readonly client?: StartClientOptions;
}): Promise<OneClientLab> {
  const lab = await createLab({ nats: [{ name: 'nat1', kind: 'cone', clients: ['alice'] }] });
  try {
    const server = await lab.startServer('ours', options.server);
    const relay = await lab.startRelay('ours', options.relay);
    const alice = await lab.startClient('alice', 'ours', options.client);
    const qualified = await lab.waitQualified(alice, 20_000);
    return { lab, server, relay, alice, qualified };
  } catch (error) {
    await lab.destroy();
    throw error;
  }
}
