/**
 * The server's control plane: nothing runs on the engine's main thread, since the server's rules
 * (src/teredo/server.ts) keep no state beyond what its data-plane worker holds.
 */
import { formatIPv6 } from '../teredo/ipv6-text.js';
import { prefixToBytes } from '../ipc/ipv6-value.js';
import { SERVER_COUNTER_NAMES } from '../teredo/server-counters.js';
import type { EngineConfig } from '../ipc/engine-config.js';
import type { ControlPlane, ControlPlaneFactory, RoleStatus } from './control-plane.js';

type ServerConfig = Extract<EngineConfig, { role: 'server' }>;

function serverStatus(config: ServerConfig): RoleStatus {
  return {
    address: null,
    qualified: null,
    natType: null,
    mapping: null,
    qualificationSeconds: null,
    qualifiedForSeconds: null,
    mtu: config.interfaceMtu,
    prefix: `${formatIPv6(prefixToBytes(config.prefix))}/32`,
    // Its own two addresses; a server asks no other server anything.
    servers: [config.serverBindAddress, config.serverBindAddress2].map((address) => ({
      address,
      lastAnswerSecondsAgo: null,
    })),
    peerTable: null,
  };
}

export const SERVER_CONTROL_FACTORY: ControlPlaneFactory = {
  counterNames: SERVER_COUNTER_NAMES,
  shared: null,
  create: ({ init }): ControlPlane => {
    if (init.config.role !== 'server') throw new Error('a server control plane for another role');
    let config: ServerConfig = init.config;
    return {
      start: () => undefined,
      slowPath: () => undefined,
      reply: () => undefined,
      reconfigure: (next) => {
        if (next.role === 'server') config = next;
      },
      stop: () => Promise.resolve(),
      status: () => serverStatus(config),
      nativePeers: () => null,
      peers: () => null,
      metricFamilies: () => [],
    };
  },
};
