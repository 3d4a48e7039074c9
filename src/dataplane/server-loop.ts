/**
 * The Teredo server's packet loop: one data-plane worker serves both UDP sockets (primary and
 * secondary, port 3544) and sends native IPv6 on the raw socket. Each readable socket is drained
 * in batches once the loop is started (preparing it reads nothing); every datagram is judged by
 * the sans-I/O server core (src/teredo/server.ts), whose answers are written straight into
 * preallocated output batches, one per socket, and flushed with one sendmmsg per socket and
 * batch. Nothing is allocated per packet.
 */
import { constants as osConstants } from 'node:os';
import { performance } from 'node:perf_hooks';
import { createPacketBatch, slotOffset } from '../os/packet-batch.js';
import type { PacketBatch } from '../os/packet-batch.js';
import { errnoName, recvUdpBatch, sendUdpBatch, watchReadable } from '../os/packet-io.js';
import type { FdWatch } from '../os/packet-io.js';
import { sendRaw6 } from '../os/raw.js';
import { TEREDO_CONSTANTS } from '../teredo/constants.js';
import { parseIPv4 } from '../teredo/ipv4.js';
import {
  SERVER_ACTION_SEND_RAW,
  SERVER_ACTION_SEND_UDP,
  SERVER_MAX_OUTPUT_BYTES,
  createServerAction,
  createServerProcessor,
} from '../teredo/server.js';
import type { ServerParams, ServerProcessor } from '../teredo/server.js';
import { SERVER_COUNTER_NAMES } from '../teredo/server-counters.js';
import type { DataplaneLoop } from './loop.js';
import type { DataplaneTask } from '../ipc/engine-worker-messages.js';
import type { EngineConfig } from '../ipc/engine-config.js';

export const SERVER_BATCH_SLOTS = 64;
/** The server answers only small packets (RS, bubbles, ICMPv6 up to 88 bytes); longer ones are dropped anyway. */
export const SERVER_SLOT_BYTES = 2048;
/** Batches drained per readiness callback before the other socket gets its turn. */
export const SERVER_BATCHES_PER_TURN = 8;

const PRIMARY = 0;
const SECONDARY = 1;

type CounterName = (typeof SERVER_COUNTER_NAMES)[number];
const counterIndex = (name: CounterName): number => SERVER_COUNTER_NAMES.indexOf(name);
const RECEIVED = counterIndex('received');
const SEND_FAILED = counterIndex('send-failed');
const RAW_SEND_FAILED = counterIndex('raw-send-failed');

/**
 * Errors a raw send is retried on: Linux reports ICMP errors caused by earlier packets on the
 * next send, so the packet at hand may well go out on a second try (Miredo does the same).
 */
const RETRIED_ERRNOS: readonly number[] = [
  osConstants.errno.ENETUNREACH,
  osConstants.errno.EACCES,
  osConstants.errno.EHOSTUNREACH,
  osConstants.errno.ECONNREFUSED,
  osConstants.errno.EMSGSIZE,
  osConstants.errno.EPROTO,
];
const RETRIED = new Uint8Array(256);
for (const errno of RETRIED_ERRNOS) RETRIED[errno] = 1;

/** The kernel calls the pump makes, by socket index (0 primary, 1 secondary). */
export interface ServerIo {
  /** recvUdpBatch on the socket: datagrams received, 0 when none, or -errno. */
  recv(socket: number, batch: PacketBatch): number;
  /** sendUdpBatch on the socket: slots sent (0 when the buffer is full), or -errno if slot `first` failed. */
  send(socket: number, batch: PacketBatch, first: number, count: number): number;
  /** sendRaw6 on the raw socket: bytes sent or -errno. */
  sendRaw(bytes: Uint8Array, offset: number, length: number): number;
  /** Monotonic milliseconds. */
  now(): number;
}

export interface ServerPump {
  /** Receives from a readable socket and answers everything received, a few batches at most. */
  drain(socket: number): void;
}

/**
 * The loop's logic without the watchers: counts 'received' and each packet's verdict, queues UDP
 * answers per socket, sends native packets with up to `sendRetries` retries (then counts
 * 'raw-send-failed'), and counts 'send-failed' for each datagram the kernel refused.
 *
 * Longer than 80 lines: the hot loop of the server's worker: its preallocated batches and action
 * record are closure variables that handle() and flush() use for every datagram without allocating.
 */
export function createServerPump(
  processor: ServerProcessor,
  io: ServerIo,
  counters: Float64Array,
  sendRetries: number = TEREDO_CONSTANTS.serverSendRetries,
): ServerPump {
  const input = createPacketBatch(SERVER_BATCH_SLOTS, SERVER_SLOT_BYTES);
  // At most one answer per datagram, and both are flushed after every input batch.
  const primaryOut = createPacketBatch(SERVER_BATCH_SLOTS, SERVER_MAX_OUTPUT_BYTES);
  const secondaryOut = createPacketBatch(SERVER_BATCH_SLOTS, SERVER_MAX_OUTPUT_BYTES);
  const queued = new Uint32Array(2);
  const action = createServerAction();

  const count = (index: number, amount = 1): void => {
    counters[index] = (counters[index] ?? 0) + amount;
  };

  const sendNative = (bytes: Uint8Array, offset: number, length: number): void => {
    for (let attempt = 0; ; attempt += 1) {
      const result = io.sendRaw(bytes, offset, length);
      if (result >= 0) return;
      if (attempt >= sendRetries || RETRIED[-result] !== 1) {
        count(RAW_SEND_FAILED);
        return;
      }
    }
  };

  const flush = (socket: number, batch: PacketBatch): void => {
    const total = queued[socket] ?? 0;
    let first = 0;
    while (first < total) {
      const sent = io.send(socket, batch, first, total - first);
      if (sent > 0) first += sent;
      else if (sent < 0) {
        count(SEND_FAILED);
        first += 1;
      } else {
        // The socket buffer is full: what is left is lost, as it would be on the wire.
        count(SEND_FAILED, total - first);
        break;
      }
    }
    queued[socket] = 0;
  };

  const handle = (arrivedOn: number, index: number, nowMs: number): void => {
    count(RECEIVED);
    // The core writes into the primary batch's next free slot (the socket is known only
    // afterwards); an answer for the secondary socket, an RA of at most 117 bytes, is copied over.
    const slot = queued[PRIMARY] ?? 0;
    const outOffset = slotOffset(primaryOut, slot);
    processor.process(
      input.data,
      slotOffset(input, index),
      input.lengths[index] ?? 0,
      (input.addresses[index] ?? 0) | 0,
      input.ports[index] ?? 0,
      arrivedOn,
      nowMs,
      primaryOut.data,
      outOffset,
      action,
    );
    count(action.counter);
    if (action.kind === SERVER_ACTION_SEND_UDP) {
      let batch = primaryOut;
      let target = slot;
      if (action.socket === SECONDARY) {
        batch = secondaryOut;
        target = queued[SECONDARY] ?? 0;
        const to = slotOffset(secondaryOut, target);
        for (let i = 0; i < action.length; i += 1)
          secondaryOut.data[to + i] = primaryOut.data[outOffset + i] ?? 0;
      }
      batch.lengths[target] = action.length;
      batch.addresses[target] = action.ipv4;
      batch.ports[target] = action.port;
      queued[action.socket === SECONDARY ? SECONDARY : PRIMARY] = target + 1;
    } else if (action.kind === SERVER_ACTION_SEND_RAW) {
      sendNative(primaryOut.data, outOffset, action.length);
    }
  };

  return {
    drain(socket: number): void {
      for (let turn = 0; turn < SERVER_BATCHES_PER_TURN; turn += 1) {
        const received = io.recv(socket, input);
        if (received <= 0) return;
        const nowMs = io.now();
        for (let index = 0; index < received; index += 1) handle(socket, index, nowMs);
        flush(PRIMARY, primaryOut);
        flush(SECONDARY, secondaryOut);
        if (received < input.count) return;
      }
    },
  };
}

/** The core's parameters from the engine configuration. */
export function serverParams(config: Extract<EngineConfig, { role: 'server' }>): ServerParams {
  return {
    primaryIPv4: parseIPv4(config.serverBindAddress) ?? 0,
    secondaryIPv4: parseIPv4(config.serverBindAddress2) ?? 0,
    prefix: config.prefix,
    mtu: config.interfaceMtu,
    rsRateLimit: config.rsRateLimit,
    forwardRateLimit: config.forwardRateLimit,
  };
}

export function prepareServerDataplane(task: DataplaneTask, counters: Float64Array): DataplaneLoop {
  const { config } = task;
  const [primaryFd, secondaryFd] = task.udpFds;
  if (
    config.role !== 'server' ||
    primaryFd === undefined ||
    secondaryFd === undefined ||
    task.rawFd === null
  ) {
    throw new Error('a server data plane needs the server configuration, two UDP sockets and the raw socket');
  }
  const rawFd = task.rawFd;
  const fdOf = (socket: number): number => (socket === SECONDARY ? secondaryFd : primaryFd);
  const io: ServerIo = {
    recv: (socket, batch) => recvUdpBatch(fdOf(socket), batch),
    send: (socket, batch, first, count) => sendUdpBatch(fdOf(socket), batch, first, count),
    sendRaw: (bytes, offset, length) => sendRaw6(rawFd, bytes, offset, length),
    now: () => Math.floor(performance.now()),
  };
  const pump = createServerPump(createServerProcessor(serverParams(config)), io, counters);
  let watches: FdWatch[] = [];
  let stopped = false;
  const watch = (socket: number, fd: number): FdWatch =>
    watchReadable(fd, (status) => {
      if (status < 0) {
        // Polling has stopped for good: end the worker loudly, the engine treats it as fatal.
        throw new Error(`cannot poll server socket ${socket} (fd ${fd}): ${errnoName(status)}`);
      }
      pump.drain(socket);
    });
  return {
    start(): void {
      if (stopped || watches.length > 0) return;
      watches = [watch(PRIMARY, primaryFd), watch(SECONDARY, secondaryFd)];
    },
    stop(): void {
      stopped = true;
      for (const w of watches) w.stop();
      watches = [];
    },
  };
}
