/**
 * The engine's control plane for one role: what runs on the engine's main thread besides the
 * workers. The server has almost nothing there (server-control.ts: its rules need no state); the
 * client and the relay keep the peer table's writer, qualification, bubbles and pings there
 * (tunnel-control.ts).
 */
import type { Logger } from '../log/logger.js';
import type { NatType } from '../teredo/nat-type.js';
import type { EngineConfig } from '../ipc/engine-config.js';
import type {
  EngineToBootstrap,
  InitMessage,
  ReplyMessage,
  ResolvedMessage,
} from '../ipc/bootstrap-engine-messages.js';
import type { SlowPathMessage } from '../ipc/engine-worker-messages.js';
import type { ControlStatus, NativePeers, PeerFilter, PeersReply } from '../ipc/control-protocol.js';
import type { MetricFamily } from '../ipc/prometheus.js';

/** The role's part of `miredo-ctl status`; the engine adds the rest (pid, uptime, workers). */
export type RoleStatus = Omit<
  ControlStatus,
  'role' | 'enginePid' | 'uptimeSeconds' | 'workers' | 'interface' | 'nativePeers'
>;

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
  /** The bootstrap's answer to a client's `resolve` request. */
  resolved?(message: ResolvedMessage): void;
  /** A client qualifies again now (SIGHUP, network change); the other roles have nothing to do. */
  requalify?(reason: 'reload' | 'network'): void;
  /** Undo what start() did (client: address and route removal through the helper). */
  stop(): Promise<void>;
  /** Read-only views for the control socket (control-server.ts). */
  status(): RoleStatus;
  /** A client's native peers and the relay of each, at most `limit` described; null for the others. */
  nativePeers(limit: number): Promise<NativePeers> | null;
  /** The peer table, filtered and limited; null for a server (it keeps no peers). */
  peers(filter: PeerFilter | null, limit: number): Promise<PeersReply> | null;
  /** The role's gauges and histograms (its counters are the engine's). */
  metricFamilies(): readonly MetricFamily[];
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
