/**
 * The server's control plane: nothing runs on the engine's main thread, since the server's rules
 * (src/teredo/server.ts) keep no state beyond what its data-plane worker holds.
 */
import { SERVER_COUNTER_NAMES } from '../teredo/server-counters.js';
import type { ControlPlane, ControlPlaneFactory } from './control-plane.js';

const SERVER_CONTROL: ControlPlane = {
  start: () => undefined,
  slowPath: () => undefined,
  reply: () => undefined,
  reconfigure: () => undefined,
  stop: () => Promise.resolve(),
};

export const SERVER_CONTROL_FACTORY: ControlPlaneFactory = {
  counterNames: SERVER_COUNTER_NAMES,
  shared: null,
  create: () => SERVER_CONTROL,
};
