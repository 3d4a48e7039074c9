/** The network-namespace Teredo lab: see lab.ts for an example. */
export {
  createLab,
  DEBIAN_MIREDO,
  DEBIAN_MIREDO_SERVER,
  DEFAULT_TEREDO_INTERFACE,
  REPO_ROOT,
} from './lab.js';
export type {
  CreateLabOptions,
  Lab,
  StartClientOptions,
  StartRelayOptions,
  StartServerOptions,
} from './lab.js';
export { sweepAbandonedLabs } from './abandoned.js';
export { bgpTimers, relayBirdConfig, routerBirdConfig } from './bird-config.js';
export { Fleet } from './fleet.js';
export * from './fleet-plan.js';
export { captureFilter, formatCapturedPacket, PacketCapture, parseCapturedLine, TSHARK } from './capture.js';
export type { CaptureOptions, CapturedPacket, PacketKind } from './capture.js';
export { CommandError, mustSucceed, runCommand } from './command.js';
export type { CommandResult } from './command.js';
export { LabDaemon, formatExit } from './daemon.js';
export type { ExitStatus, OutputLine } from './daemon.js';
export { clientConfig, daemonCommand, describeDaemon, relayConfig, serverConfig } from './daemon-config.js';
export type { DaemonRole, Implementation, LabProcessRole, RelayType } from './daemon-config.js';
export { createJailDirectory, JAIL_PARENT, removeJailDirectory } from './jail.js';
export { LabNamespace } from './namespace.js';
export { describeNat, NAT_KIND_INFO, NAT_KINDS, supportsHairpinning } from './nat-kinds.js';
export type { FilteringBehaviour, MappingBehaviour, NatKindInfo } from './nat-kinds.js';
export { iptablesRestoreInput, natRules, SEQUENTIAL_PORT_BASE, SEQUENTIAL_PORTS } from './nat-rules.js';
export type { IptablesRule } from './nat-rules.js';
export { formatPing, parsePingOutput, pingArguments } from './ping.js';
export type { PingOptions, PingResult } from './ping.js';
export * from './plan.js';
export { formatProgress } from './progress.js';
export type { LabProgress, ProgressListener } from './progress.js';
export {
  describeTeredoAddress,
  findTeredoAddress,
  formatTeredoAddress,
  ipv6AddressesFromJson,
} from './teredo-address.js';
export type { TeredoAddressInfo } from './teredo-address.js';
export { TeredoClient } from './teredo-client.js';
export type { Qualified } from './teredo-client.js';
export { UdpAgent } from './udp-agent-client.js';
export type { Endpoint, Received } from './udp-agent-client.js';
export { pollUntil } from './wait.js';
export {
  classifyNat,
  formatNatObservation,
  NatResponders,
  observeHairpinning,
  observeNat,
} from './nat-probe.js';
export type { HairpinObservation, NatClassification, NatObservation } from './nat-probe.js';
