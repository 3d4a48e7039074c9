/** Test doubles shared by the daemon unit tests. */
import type { LocalLinkInfo } from '../../src/os/local-link.js';
import { createLogger } from '../../src/log/logger.js';
import type { Logger } from '../../src/log/logger.js';
import { formatIPv6 } from '../../src/teredo/ipv6-text.js';
import type { OpenedTun, OsApi } from '../../src/bootstrap/os-api.js';
import type { TableRoute } from '../../src/os/route-table.js';
import type { InitMessage } from '../../src/ipc/bootstrap-engine-messages.js';
import type { DaemonSettings } from '../../src/config/settings-schema.js';
import { createEngine } from '../../src/engine/engine.js';
import type { Engine, EngineEnvironment } from '../../src/engine/engine.js';
import type { EngineToBootstrap } from '../../src/ipc/bootstrap-engine-messages.js';
import type { CheckOperations } from '../../src/engine/drop-privileges.js';
import { loadDataplaneProgram } from '../../src/engine/dataplane-program.js';
import type { DataplaneProgram } from '../../src/engine/dataplane-program.js';
import { identifyDirectory } from '../../src/os/identity.js';

export interface CapturedLog {
  readonly log: Logger;
  readonly records: Array<Record<string, unknown>>;
}

export function captureLog(): CapturedLog {
  const records: Array<Record<string, unknown>> = [];
  const log = createLogger({
    name: 'test',
    level: 'debug',
    sink: { write: (line: string) => records.push(JSON.parse(line) as Record<string, unknown>) },
  });
  return { log, records };
}

/** A kernel that records calls and keeps a tiny model of one interface. */
export class FakeOs implements OsApi {
  readonly calls: string[] = [];
  readonly addresses = new Set<string>();
  readonly routes = new Set<string>();
  readonly closed: number[] = [];
  mtu = 1500;
  up = false;
  nextFd = 10;
  failOn: string | null = null;

  private record(call: string): void {
    this.calls.push(call);
    if (this.failOn !== null && call.startsWith(this.failOn)) {
      const error: NodeJS.ErrnoException = new Error(`${call} failed`);
      error.code = 'EPERM';
      error.errno = -1;
      throw error;
    }
  }

  openTun(name: string | null, queues: number): OpenedTun {
    this.record(`openTun ${name ?? '-'} ${queues}`);
    const fds = Array.from({ length: queues }, () => this.nextFd++);
    return { name: name ?? 'tun0', ifindex: 7, fds };
  }
  setMtu(ifname: string, mtu: number): void {
    this.record(`setMtu ${ifname} ${mtu}`);
    this.mtu = mtu;
  }
  setLinkUp(ifname: string, up: boolean): void {
    this.record(`setLinkUp ${ifname} ${up}`);
    this.up = up;
  }
  addAddress6(ifindex: number, address: Uint8Array, prefixLen: number): void {
    this.record(`addAddress6 ${ifindex} ${formatIPv6(address)}/${prefixLen}`);
    this.addresses.add(`${formatIPv6(address)}/${prefixLen}`);
  }
  delAddress6(ifindex: number, address: Uint8Array, prefixLen: number): void {
    this.record(`delAddress6 ${ifindex} ${formatIPv6(address)}/${prefixLen}`);
    this.addresses.delete(`${formatIPv6(address)}/${prefixLen}`);
  }
  addRoute6(ifindex: number, dst: Uint8Array, prefixLen: number, metric: number): void {
    this.record(`addRoute6 ${ifindex} ${formatIPv6(dst)}/${prefixLen} ${metric}`);
    this.routes.add(`${formatIPv6(dst)}/${prefixLen} ${metric}`);
  }
  delRoute6(ifindex: number, dst: Uint8Array, prefixLen: number, metric: number): void {
    this.record(`delRoute6 ${ifindex} ${formatIPv6(dst)}/${prefixLen} ${metric}`);
    this.routes.delete(`${formatIPv6(dst)}/${prefixLen} ${metric}`);
  }
  setTableRoute6(route: TableRoute, present: boolean): void {
    const dst = route.dst.length === 4 ? route.dst.join('.') : formatIPv6(route.dst);
    const key = `table ${route.table} ${dst}/${route.prefixLen} ${route.metric}`;
    this.record(`${present ? 'add' : 'del'}TableRoute6 ${route.ifindex} ${key}`);
    if (present) this.routes.add(key);
    else this.routes.delete(key);
  }
  openUdp4(
    bindAddress: string,
    port: number,
    options: { readonly reusePort: boolean; readonly receiveBufferBytes?: number },
  ): number {
    const buffer = options.receiveBufferBytes === undefined ? '' : ` rcvbuf ${options.receiveBufferBytes}`;
    this.record(`openUdp4 ${bindAddress}:${port}${options.reusePort ? ' reuseport' : ''}${buffer}`);
    return this.nextFd++;
  }
  localPort(fd: number): number {
    this.calls.push(`localPort ${fd}`);
    return 40000;
  }
  /** What localLinkTowards answers (null: no route). */
  localLink: LocalLinkInfo | null = { name: 'eth0', address: '10.0.0.2', prefixLength: 24 };
  localLinkTowards(destination: string, port: number, bindAddress: string): Promise<LocalLinkInfo | null> {
    this.calls.push(`localLinkTowards ${destination}:${port} ${bindAddress}`);
    return Promise.resolve(this.localLink);
  }
  openMulticast4(group: string, port: number, interfaceAddress: string): number {
    this.record(`openMulticast4 ${group}:${port} ${interfaceAddress}`);
    return this.nextFd++;
  }
  setMulticastSend(fd: number, interfaceAddress: string): void {
    this.record(`setMulticastSend ${fd} ${interfaceAddress}`);
  }
  openRaw6(): number {
    this.record('openRaw6');
    return this.nextFd++;
  }
  openTcpListener(address: string, port: number): number {
    this.record(`openTcpListener ${address}:${port}`);
    return this.nextFd++;
  }
  closeFd(fd: number): void {
    this.calls.push(`closeFd ${fd}`);
    this.closed.push(fd);
  }
}

/** A valid relay-mode init message; tests override what they examine. */
export const RELAY_INIT: InitMessage = {
  type: 'init',
  config: {
    role: 'relay',
    relayType: 'cone',
    prefix: 0x20010000,
    interfaceMtu: 1280,
    bindAddress: '0.0.0.0',
    bindPort: 3545,
    peerTableCapacity: 1024,
  },
  fds: { tun: [4, 5], udp: [6, 7], raw: null },
  interface: { name: 'teredo', index: 9 },
  uid: 65534,
  gid: 65534,
  chrootDir: '/run/miredo-ts/empty',
  poolSize: 2,
  logLevel: 'info',
};

export const SERVER_SETTINGS: Extract<DaemonSettings, { role: 'server' }> = {
  role: 'server',
  syslogFacility: 'daemon',
  serverBindAddress: '192.0.2.1',
  serverBindAddress2: '192.0.2.2',
  prefix: 0x20010000,
  interfaceMtu: 1280,
  rsRateLimit: { perSecond: 50, burst: 100 },
  forwardRateLimit: { perSecond: 1000, burst: 2000 },
};

export const RELAY_SETTINGS: Extract<DaemonSettings, { role: 'relay' }> = {
  role: 'relay',
  relayType: 'cone',
  interfaceName: 'teredo',
  syslogFacility: 'daemon',
  prefix: 0x20010000,
  interfaceMtu: 1280,
  bindAddress: '0.0.0.0',
  bindPort: 3545,
  peerTableCapacity: 1024,
  dataplaneWorkers: 0,
};

/** What the engine's privilege check sees once it runs as nobody (65534), root out of reach. */
export const DROPPED_CHECK: CheckOperations = {
  getuid: () => 65534,
  geteuid: () => 65534,
  getgid: () => 65534,
  getegid: () => 65534,
  getgroups: () => [],
  regainRoot: () => false,
  openTunDevice: () => false,
  chroot: () => false,
};

/**
 * An engine environment that drops nothing and finds its privileges already dropped. Its jail
 * is the real root directory, so that its workers' own check (their root is the jail) holds;
 * the other half of that check, not uid 0, holds only when the test runs unprivileged
 * (test/support/unprivileged.ts).
 */
export const NO_DROP: Pick<EngineEnvironment, 'drop' | 'check' | 'closeInherited'> = {
  drop: {
    identify: () => identifyDirectory('/'),
    chroot: () => undefined,
    chdir: () => undefined,
    setGroupsEmpty: () => undefined,
    setgid: () => undefined,
    setuid: () => undefined,
    setNoNewPrivs: () => undefined,
    privilegedThreads: () => [],
    requestJail: () => undefined,
  },
  check: DROPPED_CHECK,
  closeInherited: () => [],
};

export interface TestEngine {
  readonly engine: Engine;
  /** Every message the engine sent to the bootstrap. */
  readonly sent: EngineToBootstrap[];
  readonly records: CapturedLog['records'];
  /** Resolves with the code the engine exits with. */
  readonly exited: Promise<number>;
}

let bundledProgram: DataplaneProgram | null = null;

/** The daemon's own data-plane program (the bundle, in memory), read once per test file. */
export function dataplaneProgram(): DataplaneProgram {
  bundledProgram ??= loadDataplaneProgram();
  return bundledProgram;
}

/** An engine with real data-plane workers, privileges already dropped, its output captured. */
export function createTestEngine(overrides: Partial<EngineEnvironment> = {}): TestEngine {
  const sent: EngineToBootstrap[] = [];
  const { log, records } = captureLog();
  let exit: (code: number) => void = () => undefined;
  const exited = new Promise<number>((resolve) => {
    exit = resolve;
  });
  const engine = createEngine({
    log,
    program: dataplaneProgram(),
    send: (message) => sent.push(message),
    exit: (code) => exit(code),
    ...NO_DROP,
    ...overrides,
  });
  return { engine, sent, records, exited };
}
