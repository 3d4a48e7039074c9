/** The client's and relay's control plane (placeholder until the tunnel issue lands). */
import { TUNNEL_COUNTER_NAMES } from '../teredo/tunnel-counters.js';
import type { ControlPlaneFactory } from './control-plane.js';
import type { EngineConfig } from './ipc.js';

export function createTunnelControl(_config: EngineConfig): ControlPlaneFactory {
  return {
    counterNames: TUNNEL_COUNTER_NAMES,
    shared: null,
    create: () => ({
      start: () => undefined,
      slowPath: () => undefined,
      reply: () => undefined,
      reconfigure: () => undefined,
      stop: () => Promise.resolve(),
    }),
  };
}
