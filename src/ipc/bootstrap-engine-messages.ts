/**
 * Every message between the root bootstrap and the unprivileged engine: the security boundary.
 * The bootstrap acts on nothing the engine sends unless it parses here first, and the helper
 * policy (src/bootstrap/helper-policy.ts) then judges its meaning. Schemas check shape and
 * bounds only. The messages between the engine and its data-plane threads, which are not a
 * boundary, are in engine-worker-messages.ts.
 */
import { z } from 'zod';
import { LOG_LEVEL_NAMES } from '../log/levels.js';
import { ipv4Schema } from '../config/settings-schema.js';
import { isHostName } from '../config/host-name.js';
import { NAT_TYPES } from '../teredo/nat-type.js';
import { MAX_DATAPLANE_WORKERS } from '../teredo/constants.js';
import { engineConfigSchema } from './engine-config.js';
import {
  fd,
  fdList,
  ifindex,
  interfaceName,
  ipv6,
  pid,
  portMappingGrant,
  prefixLen,
  reason,
  requestId,
  uint32,
  unprivilegedId,
  workerCount,
  workerIndex,
} from './fields.js';
import { parseWith } from './parse.js';
import type { Parsed } from './parse.js';

// ---- bootstrap → engine ----

export const initMessageSchema = z
  .object({
    type: z.literal('init'),
    config: engineConfigSchema,
    fds: z
      .object({
        /** One TUN queue per data-plane worker (client and relay). */
        tun: fdList,
        /** One UDP socket per worker (client, relay) or the two server sockets. */
        udp: fdList,
        raw: fd.nullable(),
        /** The listening control socket (miredo-ctl), which the engine serves read-only. */
        control: fd.optional(),
        /** The listening metrics socket (MetricsListen), served the same way over HTTP. */
        metrics: fd.optional(),
        /** Client with LocalDiscovery: UDP 3544 joined to 224.0.0.253 on `localLink`. */
        discovery: fd.optional(),
        /**
         * Started through miredo-engine-launch (a bootstrap without root): the jailer that chroots
         * the engine, which then runs as `uid`/`gid` already and holds no capability.
         */
        jailer: fd.optional(),
      })
      .strict(),
    /** The interface local discovery runs on: its IPv4 and prefix length (client only). */
    localLink: z
      .object({ address: ipv4Schema, prefixLength: z.number().int().min(0).max(32) })
      .strict()
      .optional(),
    interface: z.object({ name: interfaceName, index: ifindex }).strict().nullable(),
    uid: unprivilegedId,
    gid: unprivilegedId,
    chrootDir: z.string().min(1).max(4096).startsWith('/'),
    poolSize: workerCount.min(1),
    logLevel: z.enum(LOG_LEVEL_NAMES),
    /**
     * A relay with an AnnounceTable: its workers beat and the engine reports their health every
     * 250 ms (health-monitor.ts). Nothing else needs them, so nothing else pays their wake-ups.
     */
    healthReports: z.boolean().optional(),
  })
  .strict()
  .superRefine((init, ctx) => {
    const role = init.config.role;
    const { tun, udp, raw, discovery, control, metrics, jailer } = init.fds;
    const all = [
      ...tun,
      ...udp,
      ...[raw, discovery, control, metrics, jailer].filter((one) => one !== null && one !== undefined),
    ];
    if (new Set(all).size !== all.length)
      ctx.addIssue({ code: 'custom', message: 'a descriptor is listed twice' });
    if ((discovery === undefined) !== (init.localLink === undefined))
      ctx.addIssue({ code: 'custom', message: 'the discovery socket comes with its link, and only with it' });
    if (discovery !== undefined && role !== 'client')
      ctx.addIssue({ code: 'custom', message: 'only a client has a discovery socket' });
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

/**
 * A client qualifies again now: after a SIGHUP (Miredo does, and Debian's if-up hook relies on
 * it) or when the host's IPv4 uplink changed. The address is kept when the answer is the same.
 */
export const requalifyMessageSchema = z
  .object({ type: z.literal('requalify'), reason: z.enum(['reload', 'network']) })
  .strict();

/**
 * A relay's announcement (AnnounceTable) changed: shown by `miredo-ctl status` and the metrics.
 * The reason is the bootstrap's own words (announcer.ts), printable and short.
 */
export const announcementMessageSchema = z
  .object({
    type: z.literal('announcement'),
    table: uint32,
    announced: z.boolean(),
    reason: z
      .string()
      .max(64)
      .regex(/^[\x20-\x7e]*$/),
    /** Withdrawn by `miredo-ctl withdraw` until `miredo-ctl announce`. */
    maintenance: z.boolean().optional(),
    /** The hold-down in force after withdrawals for ill-health (announcer.ts); 0 before any. */
    holdDownSeconds: z.number().min(0).max(3600).optional(),
  })
  .strict();

export const replyResultSchema = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true) }).strict(),
  z.object({ ok: z.literal(false), kind: z.enum(['refused', 'failed']), reason }).strict(),
]);
export const replyMessageSchema = z
  .object({ type: z.literal('reply'), id: requestId, result: replyResultSchema })
  .strict();

/** Most addresses of one name the engine is told (it tries them in turn). */
export const MAX_RESOLVED_ADDRESSES = 16;

/** The answer to a `resolve` request: the name's IPv4 addresses and how long they hold. */
export const resolvedMessageSchema = z
  .object({
    type: z.literal('resolved'),
    id: requestId,
    result: z.discriminatedUnion('ok', [
      z
        .object({
          ok: z.literal(true),
          addresses: z.array(ipv4Schema).min(1).max(MAX_RESOLVED_ADDRESSES),
          ttlSeconds: uint32,
        })
        .strict(),
      z.object({ ok: z.literal(false), reason }).strict(),
    ]),
  })
  .strict();

export const bootstrapToEngineSchema = z.union([
  initMessageSchema,
  stopMessageSchema,
  summaryRequestSchema,
  reconfigureMessageSchema,
  requalifyMessageSchema,
  resolvedMessageSchema,
  replyMessageSchema,
  announcementMessageSchema,
]);

export type InitMessage = z.infer<typeof initMessageSchema>;
export type ReplyResult = z.infer<typeof replyResultSchema>;
export type AnnouncementMessage = z.infer<typeof announcementMessageSchema>;
export type ReplyMessage = z.infer<typeof replyMessageSchema>;
export type ResolvedMessage = z.infer<typeof resolvedMessageSchema>;
export type ResolvedResult = ResolvedMessage['result'];
export type BootstrapToEngine = z.infer<typeof bootstrapToEngineSchema>;

// ---- engine → bootstrap ----

export const readyMessageSchema = z
  .object({ type: z.literal('ready'), pid, workers: workerCount.min(1) })
  .strict();

export const engineSummarySchema = z
  .object({
    role: z.enum(['client', 'relay', 'server']),
    pid,
    uptimeSeconds: z.number().min(0),
    workers: workerCount,
    uid: uint32,
    gid: uint32,
    maxRssBytes: z.number().int().min(0),
    /** Accept/drop counters by name, summed over the workers. */
    counters: z
      .record(z.string().max(64), z.number().int().min(0))
      .refine((record) => Object.keys(record).length <= 256, 'too many counters'),
    /** Client: what the NAT type probe found (src/teredo/nat-type.ts). */
    natType: z.enum(NAT_TYPES).optional(),
  })
  .strict();

/**
 * The data plane's health, every HEALTH_INTERVAL_MS (engine/health-monitor.ts): the workers whose
 * heartbeat stopped. A relay with an AnnounceTable keeps its announcement route only while these
 * keep coming with no stalled worker (bootstrap/announcer.ts). Only such a relay's engine sends
 * them: init's healthReports.
 */
export const healthMessageSchema = z
  .object({
    type: z.literal('health'),
    stalled: z.array(workerIndex).max(MAX_DATAPLANE_WORKERS),
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

/** The client's port mapping on its NAT, for the hook's environment (PORT_MAPPING_*). */
export const hookPortMappingSchema = portMappingGrant;

/** A client's new state, for Miredo's client hook (address :: when down). */
export const clientStateRequestSchema = z
  .object({
    type: z.literal('client-state'),
    id: requestId,
    ifindex,
    state: z.enum(['up', 'down']),
    address: ipv6,
    mtu: uint32,
    portMapping: hookPortMappingSchema.optional(),
  })
  .strict();

/**
 * A client asks for its server name's addresses (the engine has no DNS in its jail). The
 * bootstrap answers only for the configured name, and at a bounded rate (name-service.ts).
 */
export const resolveRequestSchema = z
  .object({ type: z.literal('resolve'), id: requestId, name: z.string().max(254).refine(isHostName) })
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
  healthMessageSchema,
  summaryReportSchema,
  resolveRequestSchema,
  ...helperRequestSchemas,
]);

export type EngineSummary = z.infer<typeof engineSummarySchema>;
export type HealthMessage = z.infer<typeof healthMessageSchema>;
export type HelperRequest = z.infer<typeof helperRequestSchema>;
export type ResolveRequest = z.infer<typeof resolveRequestSchema>;
export type HookPortMapping = z.infer<typeof hookPortMappingSchema>;
export type EngineToBootstrap = z.infer<typeof engineToBootstrapSchema>;

export function parseBootstrapToEngine(raw: unknown): Parsed<BootstrapToEngine> {
  return parseWith(bootstrapToEngineSchema, raw, true);
}

export function parseEngineToBootstrap(raw: unknown): Parsed<EngineToBootstrap> {
  return parseWith(engineToBootstrapSchema, raw, true);
}
