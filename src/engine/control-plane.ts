/**
 * The engine's control plane for one role: what runs on the engine's main thread besides the
 * workers. The server has almost nothing there (server-control.ts: its rules need no state); the
 * client and the relay keep the peer table's writer, qualification, bubbles and pings there
 * (tunnel-control.ts).
 */
import type { Logger } from '../log/logger.js';
import type { NatType } from '../teredo/nat-type.js';
import type { EngineConfig } from '../ipc/engine-config.js';
import type { EngineToBootstrap, InitMessage, ReplyMessage } from '../ipc/bootstrap-engine-messages.js';
import type { SlowPathMessage } from '../ipc/engine-worker-messages.js';

export interface ControlPlaneContext {
  readonly log: Logger;
  readonly init: InitMessage;
  /** To the bootstrap (helper requests). */
  readonly send: (message: EngineToBootstrap) => void;
  /** Ends the engine with exit status 1 after logging `text`. */
  readonly fatal: (text: string) => void;
  /** The control plane's own counter row (the last row of the block). */
  readonly counters: Float64Array;
}

export interface ControlPlane {
  /** Called once the workers are ready and privileges are dropped. */
  start(): void;
  slowPath(message: SlowPathMessage): void;
  reply(message: ReplyMessage): void;
  reconfigure(config: EngineConfig): void;
  /** Undo what start() did (client: address and route removal through the helper). */
  stop(): Promise<void>;
  /** What the state summary (SIGUSR1) tells of the protocol state: a client's NAT type. */
  state?(): ControlPlaneState;
}

export interface ControlPlaneState {
  readonly natType?: NatType;
}

export interface ControlPlaneFactory {
  readonly counterNames: readonly string[];
  /** The tunnel state and peer table shared with the workers; null for a server. */
  readonly shared: SharedArrayBuffer | null;
  create(context: ControlPlaneContext): ControlPlane;
}
