/**
 * The relay benchmark's traffic generator, run inside a lab namespace and driven over stdin/stdout
 * (one JSON object per line each way), so one warm process serves every trial of a run:
 *
 *   ip netns exec <ns> node dist/scripts/bench-relay-agent.js --role client|host --plan '<json>'
 *
 * role client: the K fake Teredo clients (one native UDP socket each, bound to basePort + i),
 *   sending Teredo datagrams to the relay with sendmmsg batches.
 * role host: the native IPv6 host, sending IPv6/UDP packets to the fake clients' Teredo
 *   addresses on a raw IPv6 socket (the kernel routes them to the relay).
 *
 * Commands: {"op":"bubbles"} (client: one bubble per fake client to the relay), {"op":"prime"}
 * (host: one packet per fake client, so the relay creates their peer entries), {"op":"blast",
 * "rate":R,"seconds":S} (R packets/s spread over the clients, 0 = as fast as possible) and
 * {"op":"quit"}. Each answer: {"ok":true,"sent":n,"failed":n,"seconds":s} or {"ok":false,"error":"..."}.
 * Nothing is received here: the far end counts with netfilter rules, which costs no process time.
 */
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { closeFd } from '../src/os/fd.js';
import { createPacketBatch, slotOffset } from '../src/os/packet-batch.js';
import type { PacketBatch } from '../src/os/packet-batch.js';
import { sendUdpBatch } from '../src/os/packet-io.js';
import { openRaw6, sendRaw6 } from '../src/os/raw.js';
import { openUdp4 } from '../src/os/udp.js';
import { parseIPv4 } from '../src/teredo/ipv4.js';
import { clientBubble, clientToHostPacket, hostToClientPacket } from './bench-relay-packets.js';
import type { FakeClientPlan } from './bench-relay-packets.js';

const TEREDO_PORT = 3544;
const BATCH = 64;
/** Most packets sent in one go before the clock is read again (keeps bursts short at high rates). */
const MAX_BURST = 256;
/** How long the pacer sleeps when nothing is due. */
const IDLE_SLEEP_MS = 0.05;

const planSchema = z.object({
  serverIPv4: z.string(),
  clientIPv4: z.string(),
  basePort: z.number().int().min(1).max(65535),
  clients: z.number().int().min(1).max(256),
  hostIPv6: z.string(),
  payloadBytes: z.number().int().min(0).max(1200),
  relayIPv4: z.string(),
});
type AgentPlan = z.infer<typeof planSchema> & FakeClientPlan;

const commandSchema = z.discriminatedUnion('op', [
  z.object({ op: z.literal('bubbles') }),
  z.object({ op: z.literal('prime') }),
  z.object({ op: z.literal('blast'), rate: z.number().min(0), seconds: z.number().positive().max(60) }),
  z.object({ op: z.literal('quit') }),
]);

interface SendResult {
  sent: number;
  failed: number;
}

/** Sends up to `count` measured packets; returns what the kernel took and what it refused. */
type Sender = (count: number) => SendResult;

interface Role {
  readonly blast: Sender;
  /** Bubbles (client) or priming packets (host): one per fake client. */
  readonly once: () => SendResult;
  close(): void;
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
function sleepMs(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

function clientRole(plan: AgentPlan): Role {
  const relay = parseIPv4(plan.relayIPv4);
  if (relay === null) throw new Error(`bad relay address ${plan.relayIPv4}`);
  const sockets: number[] = [];
  const batches: PacketBatch[] = [];
  const fill = (batch: PacketBatch, packet: Uint8Array, slots: number): void => {
    for (let slot = 0; slot < slots; slot++) {
      batch.data.set(packet, slotOffset(batch, slot));
      batch.lengths[slot] = packet.length;
      batch.addresses[slot] = relay;
      batch.ports[slot] = TEREDO_PORT;
    }
  };
  const bubbles = createPacketBatch(plan.clients, 64);
  for (let i = 0; i < plan.clients; i++) {
    sockets.push(openUdp4(plan.clientIPv4, plan.basePort + i, { reusePort: false }));
    const packet = clientToHostPacket(plan, i);
    const batch = createPacketBatch(BATCH, packet.length);
    fill(batch, packet, BATCH);
    batches.push(batch);
  }
  let next = 0;
  const blast: Sender = (count) => {
    const result = { sent: 0, failed: 0 };
    // Round robin over the clients, so every flow (and every SO_REUSEPORT socket of the relay) gets its share.
    const perClient = Math.max(1, Math.min(BATCH, Math.ceil(count / plan.clients)));
    let left = count;
    while (left > 0) {
      const index = next;
      next = (next + 1) % plan.clients;
      const n = Math.min(left, perClient);
      const done = sendUdpBatch(sockets[index]!, batches[index]!, 0, n);
      if (done < 0) {
        result.failed += 1;
        left -= 1;
        continue;
      }
      result.sent += done;
      result.failed += n - done;
      left -= n;
    }
    return result;
  };
  const once = (): SendResult => {
    const result = { sent: 0, failed: 0 };
    for (let i = 0; i < plan.clients; i++) {
      fill(bubbles, clientBubble(plan, i), 1);
      const done = sendUdpBatch(sockets[i]!, bubbles, 0, 1);
      if (done === 1) result.sent++;
      else result.failed++;
    }
    return result;
  };
  return { blast, once, close: () => sockets.forEach(closeFd) };
}

function hostRole(plan: AgentPlan): Role {
  const fd = openRaw6();
  const packets = Array.from({ length: plan.clients }, (_, i) => hostToClientPacket(plan, i));
  const length = packets[0]!.length;
  const all = new Uint8Array(length * plan.clients);
  packets.forEach((packet, i) => all.set(packet, i * length));
  let next = 0;
  const blast: Sender = (count) => {
    const result = { sent: 0, failed: 0 };
    for (let k = 0; k < count; k++) {
      if (sendRaw6(fd, all, next * length, length) === length) result.sent++;
      else result.failed++;
      next = (next + 1) % plan.clients;
    }
    return result;
  };
  const once = (): SendResult => {
    next = 0;
    return blast(plan.clients);
  };
  return { blast, once, close: () => closeFd(fd) };
}

/** Sends at `rate` packets/s (0: flat out) for `seconds`, in short bursts, sleeping when ahead. */
function pace(send: Sender, rate: number, seconds: number): SendResult & { seconds: number } {
  const total = { sent: 0, failed: 0 };
  const start = performance.now();
  const end = start + seconds * 1000;
  for (let now = start; now < end; now = performance.now()) {
    const attempted = total.sent + total.failed;
    const due = rate > 0 ? Math.floor((rate * (now - start)) / 1000) - attempted : MAX_BURST;
    if (due <= 0) {
      sleepMs(IDLE_SLEEP_MS);
      continue;
    }
    const result = send(Math.min(due, MAX_BURST));
    total.sent += result.sent;
    total.failed += result.failed;
  }
  return { ...total, seconds: (performance.now() - start) / 1000 };
}

function main(): void {
  const { values } = parseArgs({
    options: { role: { type: 'string' }, plan: { type: 'string' } },
  });
  const plan = planSchema.parse(JSON.parse(values.plan ?? '{}'));
  const role = values.role === 'client' ? clientRole(plan) : values.role === 'host' ? hostRole(plan) : null;
  if (role === null) throw new Error('--role must be client or host');
  const reply = (answer: object): void => {
    process.stdout.write(`${JSON.stringify(answer)}\n`);
  };
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    try {
      const command = commandSchema.parse(JSON.parse(line));
      switch (command.op) {
        case 'quit':
          lines.close();
          return;
        case 'bubbles':
        case 'prime':
          reply({ ok: true, ...role.once(), seconds: 0 });
          return;
        case 'blast':
          reply({ ok: true, ...pace(role.blast, command.rate, command.seconds) });
          return;
      }
    } catch (error) {
      reply({ ok: false, error: error instanceof Error ? error.message : String(error) });
    }
  });
  lines.on('close', () => role.close());
  reply({ ok: true, ready: true });
}

main();
