/**
 * The messages between the engine and its data-plane worker threads. They share one address
 * space, so this is not a security boundary: the messages are validated for robustness, so that
 * a bug on one side shows as a clear error instead of a wrong packet.
 */
import { z } from 'zod';
import { engineConfigSchema } from './engine-config.js';
import { fd, port, reason, uint32, workerIndex } from './fields.js';
import { parseWith } from './parse.js';
import type { Parsed } from './parse.js';

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
    /**
     * Int32 heartbeats, one per worker: each worker counts its own up while its event loop turns
     * (dataplane/heartbeat.ts), and the engine's health monitor watches them.
     */
    heartbeat: z.instanceof(SharedArrayBuffer).optional(),
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
    /** The IPv4 the datagram was sent to (udp, IP_PKTINFO: our local address), 0 for tun. */
    localAddress: uint32,
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

export const engineToWorkerSchema = z.discriminatedUnion('type', [
  /** The engine is jailed and unprivileged: the worker checks that for itself, then reads. */
  z.object({ type: z.literal('worker-start') }).strict(),
  z.object({ type: z.literal('worker-stop') }).strict(),
  /**
   * Test only: the worker throws from its packet loop, as a bug would (`crash`), or blocks its
   * thread for good (`wedge`: alive, but its loop no longer turns). The engine sends it only
   * when root started the daemon with FAULT_INJECTION_ENV=1 (see SECURITY.md).
   */
  z.object({ type: z.literal('worker-fault'), fault: z.enum(['crash', 'wedge']).optional() }).strict(),
]);

export type DirIdentity = z.infer<typeof dirIdentitySchema>;
export type DataplaneTask = z.infer<typeof dataplaneTaskSchema>;
export type SlowPathMessage = z.infer<typeof slowPathMessageSchema>;
export type WorkerToEngine = z.infer<typeof workerToEngineSchema>;
export type EngineToWorker = z.infer<typeof engineToWorkerSchema>;

export function parseDataplaneTask(raw: unknown): Parsed<DataplaneTask> {
  return parseWith(dataplaneTaskSchema, raw);
}

export function parseWorkerToEngine(raw: unknown): Parsed<WorkerToEngine> {
  return parseWith(workerToEngineSchema, raw);
}

export function parseEngineToWorker(raw: unknown): Parsed<EngineToWorker> {
  return parseWith(engineToWorkerSchema, raw);
}
