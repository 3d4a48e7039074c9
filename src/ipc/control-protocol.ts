/**
 * The control socket's protocol (miredo-ctl ↔ the engine): one request frame, one reply frame,
 * then the engine closes the connection. Frames are src/ipc/frames.ts's (4-byte length, JSON);
 * a request is capped at MAX_CONTROL_REQUEST_BYTES before a byte of it is kept, and both
 * directions are parsed here. Read-only: no request changes anything in the daemon.
 */
import { z } from 'zod';
import { parseWith } from './parse.js';
import type { Parsed } from './parse.js';
import { pid, portMappingGrant, uint32, workerCount } from './fields.js';
import { parseIPv6 } from '../teredo/ipv6-text.js';
import { NAT_TYPES } from '../teredo/nat-type.js';

/** A request is a command, a filter and a limit: a few dozen bytes. */
export const MAX_CONTROL_REQUEST_BYTES = 1024;
export const DEFAULT_PEER_LIMIT = 100;
/** The largest peers reply: about 220 bytes a row, well under the 256 KiB frame limit. */
export const MAX_PEER_LIMIT = 1000;

/** The control socket of the daemon whose PID file is `pidFile`: its `.pid` suffix becomes `.ctl`. */
export function controlSocketPath(pidFile: string): string {
  return `${pidFile.endsWith('.pid') ? pidFile.slice(0, -'.pid'.length) : pidFile}.ctl`;
}

export interface PeerFilter {
  readonly prefix: Uint8Array;
  readonly length: number;
}

/** An IPv6 address (a /128) or ADDRESS/LENGTH; null when it is neither. */
export function parsePeerFilter(text: string): PeerFilter | null {
  const slash = text.indexOf('/');
  const prefix = parseIPv6(slash < 0 ? text : text.slice(0, slash));
  const lengthText = slash < 0 ? '128' : text.slice(slash + 1);
  if (prefix === null || !/^\d{1,3}$/.test(lengthText)) return null;
  const length = Number(lengthText);
  return length <= 128 ? { prefix, length } : null;
}

/** Whether the 16 bytes at `key` start with the filter's prefix. */
export function matchesPeerFilter(filter: PeerFilter, key: Uint8Array): boolean {
  const whole = filter.length >>> 3;
  for (let i = 0; i < whole; i += 1) if (key[i] !== filter.prefix[i]) return false;
  const rest = filter.length & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((key[whole] ?? 0) & mask) === ((filter.prefix[whole] ?? 0) & mask);
}

export const controlCommands = ['status', 'peers', 'counters', 'metrics'] as const;

export const controlRequestSchema = z
  .object({
    command: z.enum(controlCommands),
    /** peers: an IPv6 address or prefix (ADDRESS/LENGTH); only peers inside it are listed. */
    filter: z
      .string()
      .min(1)
      .max(64)
      .refine((text) => parsePeerFilter(text) !== null, 'not an IPv6 address or prefix')
      .optional(),
    limit: z.number().int().min(1).max(MAX_PEER_LIMIT).optional(),
  })
  .strict();

const seconds = z.number().min(0).max(1e10);
/**
 * Replies are printed on an administrator's terminal, perhaps root's, and come from the process
 * that parses hostile packets: printable ASCII only, so no reply can carry a terminal escape.
 */
const PRINTABLE = /^[\x20-\x7e]*$/;
const PRINTABLE_LINES = /^[\x20-\x7e\n]*$/;
const text = z.string().max(64).regex(PRINTABLE, 'not printable ASCII');
const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** A server's configured name (or its address): a host name's 253 bytes and a dot at most. */
const hostText = z.string().max(255).regex(PRINTABLE, 'not printable ASCII');

export const serverStatusSchema = z
  .object({
    /** Its IPv4 address; a client's configured name until that resolves. */
    address: hostText,
    /** Client: the configured name it comes from (ServerAddress or a FallbackServerAddress). */
    name: hostText.optional(),
    /** Client: whether that name is a FallbackServerAddress. */
    fallback: z.boolean().optional(),
    /** Seconds since it last answered (client: a Router Advertisement we accepted); null: never. */
    lastAnswerSecondsAgo: seconds.nullable(),
  })
  .strict();

export const peerTableStatusSchema = z
  .object({ peers: count, capacity: count, queuedPackets: count, queuedBytes: count })
  .strict();

/** Native peers a status describes; the rest are counted (`miredo-ctl peers` lists them all). */
export const MAX_STATUS_NATIVE_PEERS = 32;

export const nativePeersSchema = z
  .object({
    /** Native peers in the table (all counted, `peers` limited). */
    matched: count,
    peers: z
      .array(
        z
          .object({
            address: text,
            /** The relay's IPv4:port that carries this peer's packets; null until the ping test answers. */
            relay: text.nullable(),
            /** The second validated relay (IPv4:port) of the peer (teredo/native-relays.ts); null: none. */
            alternate: text.nullable().optional(),
          })
          .strict(),
      )
      .max(MAX_STATUS_NATIVE_PEERS),
  })
  .strict();

export const portMappingStatusSchema = portMappingGrant
  .extend({
    internalPort: z.number().int().min(0).max(65535),
    expiresInSeconds: seconds,
    /** The Teredo address carries this mapping: the NAT is a cone NAT towards every peer (RFC 6081). */
    cone: z.boolean(),
  })
  .strict();

export const controlStatusSchema = z
  .object({
    role: z.enum(['client', 'relay', 'server']),
    enginePid: pid,
    uptimeSeconds: seconds,
    workers: workerCount,
    interface: text.nullable(),
    /** The client's Teredo address while qualified; null for a relay or a server. */
    address: text.nullable(),
    qualified: z.boolean().nullable(),
    /** Client only (null otherwise): src/teredo/nat-type.ts's probe; "unknown" until it classifies. */
    natType: z.enum(NAT_TYPES).nullable(),
    /** Our mapped IPv4:port as the server saw it (client, while qualified). */
    mapping: text.nullable(),
    /** Seconds from start to the first qualification; null before it. */
    qualificationSeconds: seconds.nullable(),
    /** Seconds since the current address was obtained; null when not qualified. */
    qualifiedForSeconds: seconds.nullable(),
    mtu: uint32.nullable(),
    /** The Teredo prefix served (relay, server) or used (client, when qualified). */
    prefix: text.nullable(),
    servers: z.array(serverStatusSchema).max(2),
    peerTable: peerTableStatusSchema.nullable(),
    /** Client only (null otherwise): its native IPv6 peers and the relay of each. */
    nativePeers: nativePeersSchema.nullable(),
    /** Client only: the port mapping on its NAT (PortMapping), null without one. */
    portMapping: portMappingStatusSchema.nullable().optional(),
    /** A relay with an AnnounceTable: whether its prefix route is there, and why (or why not). */
    announcement: z
      .object({
        table: uint32,
        announced: z.boolean(),
        reason: text,
        /** Withdrawn by `miredo-ctl withdraw` until `miredo-ctl announce`. */
        maintenance: z.boolean().optional(),
        /** The hold-down in force after withdrawals for ill-health; 0 before any. */
        holdDownSeconds: seconds.optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export const peerRowSchema = z
  .object({
    address: text,
    /** Mapped IPv4:port, null until known. */
    mapping: text.nullable(),
    /**
     * A native peer's alternate relay (IPv4:port, teredo/native-relays.ts): the second relay its
     * packets were proven to come through; null for a Teredo peer or a native one with only one.
     */
    alternate: text.nullable().optional(),
    trusted: z.boolean(),
    /** Proved two-way traffic (never evicted while proven). */
    proven: z.boolean(),
    /** The local side asked for this peer. */
    solicited: z.boolean(),
    /** Packets wait in its queue. */
    queued: z.boolean(),
    lastInSecondsAgo: seconds.nullable(),
    lastOutSecondsAgo: seconds.nullable(),
  })
  .strict();

export const peersReplySchema = z
  .object({
    /** Peers in the table, and those matching the filter (all of them counted, `peers` limited). */
    total: count,
    matched: count,
    peers: z.array(peerRowSchema).max(MAX_PEER_LIMIT),
  })
  .strict();

export const countersReplySchema = z
  .record(text, count)
  .refine((record) => Object.keys(record).length <= 256, 'too many counters');

/** Bound well above the real text (about 15 KB for a relay). */
export const MAX_METRICS_TEXT = 128 * 1024;

export const controlReplySchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('status'), status: controlStatusSchema }).strict(),
  z.object({ kind: z.literal('peers'), peers: peersReplySchema }).strict(),
  z.object({ kind: z.literal('counters'), counters: countersReplySchema }).strict(),
  z
    .object({
      kind: z.literal('metrics'),
      text: z.string().max(MAX_METRICS_TEXT).regex(PRINTABLE_LINES, 'not printable ASCII lines'),
    })
    .strict(),
  z
    .object({
      kind: z.literal('error'),
      error: z.enum(['bad-request', 'not-ready', 'busy']),
      message: z.string().max(512).regex(PRINTABLE, 'not printable ASCII'),
    })
    .strict(),
]);

export type ControlRequest = z.infer<typeof controlRequestSchema>;
export type ControlReply = z.infer<typeof controlReplySchema>;
export type ControlStatus = z.infer<typeof controlStatusSchema>;
export type PeerRow = z.infer<typeof peerRowSchema>;
export type NativePeers = z.infer<typeof nativePeersSchema>;
export type NativePeer = NativePeers['peers'][number];
export type PeersReply = z.infer<typeof peersReplySchema>;

export function parseControlRequest(raw: unknown): Parsed<ControlRequest> {
  return parseWith(controlRequestSchema, raw);
}

export function parseControlReply(raw: unknown): Parsed<ControlReply> {
  return parseWith(controlReplySchema, raw);
}
