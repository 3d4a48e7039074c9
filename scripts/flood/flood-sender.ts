/**
 * Sends a pool of prepared raw IPv4 packets (see spoofed-rs.ts, spoofed-teredo.ts) round and
 * round with batched sendmmsg, as fast as the kernel takes them, until a packet count or a
 * duration is reached; `onTurn(turn)` may rewrite the pool before each turn after the first.
 * A slot the kernel refuses (ENOBUFS when a queue on the path is full, and the like) counts
 * as failed and is skipped; a full socket buffer (EAGAIN) is waited out.
 */
import { performance } from 'node:perf_hooks';
import type { PacketBatch } from '../../src/os/packet-batch.js';
import { errnoName, sendUdpBatch, watchWritable } from '../../src/os/packet-io.js';

export interface FloodLimit {
  /** Stop after this many send attempts (sent + failed). */
  readonly packets?: number;
  /** Stop after this many seconds. */
  readonly seconds?: number;
}

export interface FloodResult {
  /** Packets the kernel accepted. */
  readonly sent: number;
  /** Packets the kernel refused, by errno name. */
  readonly failed: number;
  readonly errors: Readonly<Record<string, number>>;
  readonly seconds: number;
  /** Wall-clock epoch milliseconds, comparable with other processes' timestamps. */
  readonly startedAt: number;
  readonly endedAt: number;
  readonly packetsPerSecond: number;
  /** This process's CPU time during the flood (its kernel time includes the packets' delivery). */
  readonly userSeconds: number;
  readonly systemSeconds: number;
}

const EAGAIN_NAMES = new Set(['EAGAIN', 'EWOULDBLOCK']);
/** Batches between two turns of the event loop, so signals and pipes are still served. */
const BATCHES_PER_TURN = 256;

function writable(fd: number): Promise<number> {
  return new Promise((resolve) => {
    const watch = watchWritable(fd, (status) => {
      watch.stop();
      resolve(status);
    });
  });
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export async function floodFromPool(
  fd: number,
  pool: PacketBatch,
  limit: FloodLimit,
  batchSize = 64,
  onTurn?: (turn: number) => void,
): Promise<FloodResult> {
  if (limit.packets === undefined && limit.seconds === undefined) {
    throw new RangeError('a flood needs a packet count or a duration');
  }
  const maxPackets = limit.packets ?? Number.POSITIVE_INFINITY;
  const startedAt = Date.now();
  const start = performance.now();
  const cpuAtStart = process.cpuUsage();
  const deadline = limit.seconds === undefined ? Number.POSITIVE_INFINITY : start + limit.seconds * 1000;
  const errors: Record<string, number> = {};
  let sent = 0;
  let failed = 0;
  let cursor = 0;
  let batches = 0;
  let turn = 0;

  while (sent + failed < maxPackets && performance.now() < deadline) {
    const count = Math.min(batchSize, pool.count - cursor, maxPackets - sent - failed);
    const result = sendUdpBatch(fd, pool, cursor, count);
    let advance = result;
    if (result < 0) {
      const name = errnoName(result);
      if (EAGAIN_NAMES.has(name)) {
        const status = await writable(fd);
        if (status < 0) throw new Error(`waiting to send: ${errnoName(status)}`);
        continue;
      }
      errors[name] = (errors[name] ?? 0) + 1;
      failed++;
      advance = 1;
    } else if (result === 0) {
      await writable(fd);
      continue;
    } else {
      sent += result;
    }
    cursor = (cursor + advance) % pool.count;
    if (cursor === 0) onTurn?.(++turn);
    if (++batches % BATCHES_PER_TURN === 0) await nextTurn();
  }

  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuAtStart);
  return {
    sent,
    failed,
    errors,
    seconds,
    startedAt,
    endedAt: Date.now(),
    packetsPerSecond: Math.round(sent / Math.max(seconds, 1e-9)),
    userSeconds: cpu.user / 1e6,
    systemSeconds: cpu.system / 1e6,
  };
}
