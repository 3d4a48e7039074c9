/**
 * Every message between the root bootstrap and the unprivileged engine, and between the engine
 * and its data-plane workers. This list is the security boundary: the bootstrap acts on nothing
 * the engine sends unless it parses here first, and the helper policy then judges its meaning.
 * Schemas check shape and bounds only; what is allowed is decided in helper-policy.ts.
 */
import { isIPv4 } from 'node:net';
import { z } from 'zod';
import { LOG_LEVEL_NAMES } from '../log/levels.js';
import { MAX_PEER_CAPACITY } from '../teredo/peers.js';
import { isIPv6Value } from './ipv6-value.js';

const uint32 = z.number().int().min(0).max(0xffff_ffff);
const requestId = uint32;
const pid = z.number().int().min(1).max(0x3fff_ffff);
/** Inherited descriptors arrive at 3 and above (0-2 are stdio). */
const fd = z.number().int().min(3).max(0xf_ffff);
const ifindex = z.number().int().min(1).max(0x7fff_ffff);
const interfaceName = z.string().min(1).max(15);
const ipv4 = z
  .string()
  .max(15)
  .refine((text) => isIPv4(text), 'not an IPv4 address');
/** 32 hex digits or IPv6 text. */
const ipv6 = z.string().max(64).refine(isIPv6Value, 'not an IPv6 address');
const port = z.number().int().min(0).max(65535);
const prefixLen = z.number().int().min(0).max(128);
const reason = z.string().max(512);
/** Unprivileged ids only: the engine never runs as root or with the root group. */
const unprivilegedId = z.number().int().min(1).max(0xffff_fffe);

// ---- engine configuration (names resolved by the bootstrap: the engine cannot use DNS) ----

/** Most peers the client's or relay's table holds (PeerTableCapacity; absent: the engine's default). */
const peerTableCapacity = z.number().int().min(1).max(MAX_PEER_CAPACITY);

export const clientEngineConfigSchema = z
  .object({
    role: z.literal('client'),
    /** The server name as configured (for messages). */
    serverName: z.string().min(1).max(255),
    serverAddress: ipv4,
    serverAddress2: ipv4.nullable(),
    bindAddress: ipv4,
    bindPort: port,
    peerTableCapacity: peerTableCapacity.optional(),
  })
  .strict();

export const relayEngineConfigSchema = z
  .object({
    role: z.literal('relay'),
    relayType: z.enum(['cone', 'restricted']),
    prefix: uint32,
    interfaceMtu: z.number().int().min(1280).max(65535),
    bindAddress: ipv4,
    bindPort: port,
    peerTableCapacity: peerTableCapacity.optional(),
  })
  .strict();

/** Per source IPv4: sustained packets per second (0 = no limit) and the burst allowed above it. */
export const sourceRateLimitSchema = z
  .object({
    perSecond: z.number().int().min(0).max(1_000_000),
    burst: z.number().int().min(1).max(1_000_000),
  })
  .strict();

export const serverEngineConfigSchema = z
  .object({
    role: z.literal('server'),
    serverBindAddress: ipv4,
    serverBindAddress2: ipv4,
    prefix: uint32,
    interfaceMtu: z.number().int().min(1280).max(65535),
    /** Router Solicitations answered per source IPv4. */
    rsRateLimit: sourceRateLimitSchema,
    /** Packets forwarded (to clients or natively) per source IPv4. */
    forwardRateLimit: sourceRateLimitSchema,
  })
  .strict();

export const engineConfigSchema = z.discriminatedUnion('role', [
  clientEngineConfigSchema,
  relayEngineConfigSchema,
  serverEngineConfigSchema,
]);

export type EngineConfig = z.infer<typeof engineConfigSchema>;
export type EngineRole = EngineConfig['role'];

// ---- bootstrap → engine ----

export const initMessageSchema = z
  .object({
    type: z.literal('init'),
    config: engineConfigSchema,
    fds: z
      .object({
        /** One TUN queue per data-plane worker (client and relay). */
        tun: z.array(fd).max(64),
        /** One UDP socket per worker (client, relay) or the two server sockets. */
        udp: z.array(fd).max(64),
        raw: fd.nullable(),
      })
      .strict(),
    interface: z.object({ name: interfaceName, index: ifindex }).strict().nullable(),
    uid: unprivilegedId,
    gid: unprivilegedId,
    chrootDir: z.string().min(1).max(4096).startsWith('/'),
    poolSize: z.number().int().min(1).max(64),
    logLevel: z.enum(LOG_LEVEL_NAMES),
  })
  .strict()
  .superRefine((init, ctx) => {
    const role = init.config.role;
    const all = [...init.fds.tun, ...init.fds.udp, ...(init.fds.raw === null ? [] : [init.fds.raw])];
    if (new Set(all).size !== all.length)
      ctx.addIssue({ code: 'custom', message: 'a descriptor is listed twice' });
    if (role === 'server') {
      if (init.fds.tun.length !== 0) ctx.addIssue({ code: 'custom', message: 'a server has no tunnel' });
      if (init.fds.udp.length !== 2)
        ctx.addIssue({ code: 'custom', message: 'a server has exactly two UDP sockets' });
      if (init.fds.raw === null)
        ctx.addIssue({ code: 'custom', message: 'a server needs the raw IPv6 socket' });
      if (init.interface !== null) ctx.addIssue({ code: 'custom', message: 'a server has no interface' });
    } else {
      if (init.fds.tun.length !== init.poolSize || init.fds.udp.length !== init.poolSize) {
        ctx.addIssue({ code: 'custom', message: 'one TUN queue and one UDP socket per worker' });
      }
      if (init.fds.raw !== null) ctx.addIssue({ code: 'custom', message: 'only a server has a raw socket' });
      if (init.interface === null) ctx.addIssue({ code: 'custom', message: 'a tunnel needs its interface' });
    }
  });

export const stopMessageSchema = z.object({ type: z.literal('stop') }).strict();
export const summaryRequestSchema = z.object({ type: z.literal('summary'), id: requestId }).strict();
/** A reload that the bootstrap applied in place (MTU, prefix): the engine updates its view. */
export const reconfigureMessageSchema = z
  .object({ type: z.literal('reconfigure'), config: engineConfigSchema })
  .strict();

export const replyResultSchema = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true) }).strict(),
  z.object({ ok: z.literal(false), kind: z.enum(['refused', 'failed']), reason }).strict(),
]);
export const replyMessageSchema = z
  .object({ type: z.literal('reply'), id: requestId, result: replyResultSchema })
  .strict();

export const bootstrapToEngineSchema = z.union([
  initMessageSchema,
  stopMessageSchema,
  summaryRequestSchema,
  reconfigureMessageSchema,
  replyMessageSchema,
]);

export type InitMessage = z.infer<typeof initMessageSchema>;
export type ReplyResult = z.infer<typeof replyResultSchema>;
export type ReplyMessage = z.infer<typeof replyMessageSchema>;
export type BootstrapToEngine = z.infer<typeof bootstrapToEngineSchema>;

// ---- engine → bootstrap ----

export const readyMessageSchema = z
  .object({ type: z.literal('ready'), pid, workers: z.number().int().min(1).max(64) })
  .strict();

export const engineSummarySchema = z
  .object({
    role: z.enum(['client', 'relay', 'server']),
    pid,
    uptimeSeconds: z.number().min(0),
    workers: z.number().int().min(0).max(64),
    uid: uint32,
    gid: uint32,
    maxRssBytes: z.number().int().min(0),
    /** Accept/drop counters by name, summed over the workers. */
    counters: z
      .record(z.string().max(64), z.number().int().min(0))
      .refine((record) => Object.keys(record).length <= 256, 'too many counters'),
  })
  .strict();

export const summaryReportSchema = z
  .object({ type: z.literal('summary-report'), id: requestId, summary: engineSummarySchema })
  .strict();

const addressRequest = { id: requestId, ifindex, address: ipv6, prefixLen };
const routeRequest = { id: requestId, ifindex, dst: ipv6, prefixLen, metric: uint32 };

export const setAddressRequestSchema = z
  .object({ type: z.literal('set-address'), ...addressRequest })
  .strict();
export const delAddressRequestSchema = z
  .object({ type: z.literal('del-address'), ...addressRequest })
  .strict();
export const setMtuRequestSchema = z
  .object({ type: z.literal('set-mtu'), id: requestId, ifindex, mtu: uint32 })
  .strict();
export const setRouteRequestSchema = z.object({ type: z.literal('set-route'), ...routeRequest }).strict();
export const delRouteRequestSchema = z.object({ type: z.literal('del-route'), ...routeRequest }).strict();
export const linkRequestSchema = z
  .object({ type: z.literal('link'), id: requestId, ifindex, up: z.boolean() })
  .strict();

/** A client's new state, for Miredo's client hook (address :: when down). */
export const clientStateRequestSchema = z
  .object({
    type: z.literal('client-state'),
    id: requestId,
    ifindex,
    state: z.enum(['up', 'down']),
    address: ipv6,
    mtu: uint32,
  })
  .strict();

const helperRequestSchemas = [
  setAddressRequestSchema,
  delAddressRequestSchema,
  setMtuRequestSchema,
  setRouteRequestSchema,
  delRouteRequestSchema,
  linkRequestSchema,
  clientStateRequestSchema,
] as const;

export const helperRequestSchema = z.discriminatedUnion('type', helperRequestSchemas);

export const engineToBootstrapSchema = z.discriminatedUnion('type', [
  readyMessageSchema,
  summaryReportSchema,
  ...helperRequestSchemas,
]);

export type EngineSummary = z.infer<typeof engineSummarySchema>;
export type HelperRequest = z.infer<typeof helperRequestSchema>;
export type EngineToBootstrap = z.infer<typeof engineToBootstrapSchema>;

// ---- engine ↔ data-plane workers ----

const workerIndex = z.number().int().min(0).max(63);

/** A directory by device and inode number (stat with bigint: inode numbers pass 2^53). */
export const dirIdentitySchema = z.object({ dev: z.bigint().min(0n), ino: z.bigint().min(0n) }).strict();

/** A worker's task: its first message from the engine, on the thread's own port. */
export const dataplaneTaskSchema = z
  .object({
    workerIndex,
    config: engineConfigSchema,
    /** This worker's TUN queue (client, relay). */
    tunFd: fd.nullable(),
    /** This worker's UDP socket (client, relay), or both server sockets, primary first. */
    udpFds: z.array(fd).max(2),
    /** The server's raw IPv6 socket. */
    rawFd: fd.nullable(),
    /** Float64 counters, one row per worker (see src/ipc/counters.ts). */
    counters: z.instanceof(SharedArrayBuffer),
    /** Client and relay: the shared tunnel state and peer table; null for a server. */
    shared: z.instanceof(SharedArrayBuffer).nullable(),
    /** The jail directory, identified before the chroot: the worker's root must be it before it reads. */
    jail: dirIdentitySchema,
  })
  .strict();

/** A packet the data plane leaves to the control plane (new peers, bubbles, pings, qualification). */
export const slowPathMessageSchema = z
  .object({
    type: z.literal('slow-path'),
    workerIndex,
    from: z.enum(['tun', 'udp']),
    packet: z.instanceof(Uint8Array).refine((bytes) => bytes.length <= 65535, 'packet too long'),
    /** The outer IPv4 source and UDP port (udp), 0 for tun. */
    address: uint32,
    port,
  })
  .strict();

const credential = uint32;

export const workerToEngineSchema = z.discriminatedUnion('type', [
  /** Task received, buffers allocated: the worker waits for `worker-start`. */
  z.object({ type: z.literal('worker-ready'), workerIndex }).strict(),
  /** Its checks passed: it now reads its descriptors, with these credentials, in the jail. */
  z.object({ type: z.literal('worker-reading'), workerIndex, uid: credential, gid: credential }).strict(),
  /** Its checks failed: it reads nothing, and the engine must end. */
  z.object({ type: z.literal('worker-refused'), workerIndex, reason }).strict(),
  slowPathMessageSchema,
]);

/** Set to "1" in the root bootstrap's environment, it enables `worker-fault` (tests only). */
export const FAULT_INJECTION_ENV = 'MIREDO_TS_FAULT_INJECTION';

export const engineToWorkerSchema = z.discriminatedUnion('type', [
  /** The engine is jailed and unprivileged: the worker checks that for itself, then reads. */
  z.object({ type: z.literal('worker-start') }).strict(),
  z.object({ type: z.literal('worker-stop') }).strict(),
  /**
   * Test only: the worker throws from its packet loop, as a bug would. The engine sends it only
   * when root started the daemon with FAULT_INJECTION_ENV=1 (see SECURITY.md).
   */
  z.object({ type: z.literal('worker-fault') }).strict(),
]);

export type DirIdentity = z.infer<typeof dirIdentitySchema>;
export type DataplaneTask = z.infer<typeof dataplaneTaskSchema>;
export type SlowPathMessage = z.infer<typeof slowPathMessageSchema>;
export type ServerEngineConfig = z.infer<typeof serverEngineConfigSchema>;
export type SourceRateLimit = z.infer<typeof sourceRateLimitSchema>;
export type WorkerToEngine = z.infer<typeof workerToEngineSchema>;
export type EngineToWorker = z.infer<typeof engineToWorkerSchema>;

// ---- parsing, errors as values ----

export type Parsed<T> =
  { readonly ok: true; readonly message: T } | { readonly ok: false; readonly error: string };

function parseWith<T>(schema: z.ZodType<T>, raw: unknown): Parsed<T> {
  const result = schema.safeParse(raw);
  if (result.success) return { ok: true, message: result.data };
  const error = result.error.issues
    .slice(0, 5)
    .map((issue) => (issue.path.length === 0 ? issue.message : `${issue.path.join('.')}: ${issue.message}`))
    .join('; ');
  return { ok: false, error };
}

export function parseBootstrapToEngine(raw: unknown): Parsed<BootstrapToEngine> {
  return parseWith(bootstrapToEngineSchema, raw);
}

export function parseEngineToBootstrap(raw: unknown): Parsed<EngineToBootstrap> {
  return parseWith(engineToBootstrapSchema, raw);
}

export function parseDataplaneTask(raw: unknown): Parsed<DataplaneTask> {
  return parseWith(dataplaneTaskSchema, raw);
}

export function parseWorkerToEngine(raw: unknown): Parsed<WorkerToEngine> {
  return parseWith(workerToEngineSchema, raw);
}

export function parseEngineToWorker(raw: unknown): Parsed<EngineToWorker> {
  return parseWith(engineToWorkerSchema, raw);
}
