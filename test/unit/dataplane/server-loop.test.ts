import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:os';
import { slotPacket } from '../../../src/os/packet-batch.js';
import type { PacketBatch } from '../../../src/os/packet-batch.js';
import {
  SERVER_BATCH_SLOTS,
  SERVER_BATCHES_PER_TURN,
  createServerPump,
  serverParams,
} from '../../../src/dataplane/server-loop.js';
import type { ServerIo } from '../../../src/dataplane/server-loop.js';
import { encodeTeredoAddress } from '../../../src/teredo/address.js';
import { buildEcho, buildRouterAdvertisement, buildRouterSolicitation } from '../../../src/teredo/icmpv6.js';
import { parseIPv6 } from '../../../src/teredo/ipv6-text.js';
import { createServerProcessor } from '../../../src/teredo/server.js';
import { SERVER_COUNTER_NAMES } from '../../../src/teredo/server-counters.js';

const CONFIG = {
  role: 'server',
  serverBindAddress: '198.51.100.1',
  serverBindAddress2: '198.51.100.2',
  prefix: 0x20010000,
  interfaceMtu: 1280,
  rsRateLimit: { perSecond: 0, burst: 1 },
  forwardRateLimit: { perSecond: 0, burst: 1 },
} as const;
const PRIMARY_IPV4 = 0xc6336401;
const CLIENT_IPV4 = 0xcb007105; // 203.0.113.5
const CLIENT_PORT = 40000;
const NONCE = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);
const NATIVE = parseIPv6('2001:db8:1::2') ?? new Uint8Array(16);
const CLIENT_ADDRESS = encodeTeredoAddress({
  prefix: 0x20010000,
  server: PRIMARY_IPV4,
  flags: 0,
  port: CLIENT_PORT,
  client: CLIENT_IPV4,
});

interface Datagram {
  readonly bytes: Uint8Array;
  readonly ipv4: number;
  readonly port: number;
}

function build(write: (out: Uint8Array) => number): Uint8Array {
  const out = new Uint8Array(2048);
  return out.slice(0, write(out));
}

const rs = (cone = false): Uint8Array =>
  build((out) => buildRouterSolicitation(out, 0, { nonce: NONCE, cone }));
const echoToNative = (): Uint8Array =>
  build((out) =>
    buildEcho(out, 0, {
      kind: 'request',
      source: CLIENT_ADDRESS,
      destination: NATIVE,
      hopLimit: 128,
      identifier: 1,
      sequence: 2,
    }),
  );

/** The RA the core answers `rs(cone)` from CLIENT_IPV4:CLIENT_PORT with. */
function expectedRa(cone: boolean): string {
  const destination = parseIPv6(cone ? 'fe80::8000:5445:5245:444f' : 'fe80::ffff:ffff:ffff');
  assert.ok(destination !== null);
  const bytes = build((out) =>
    buildRouterAdvertisement(out, 0, {
      nonce: NONCE,
      originPort: CLIENT_PORT,
      originIPv4: CLIENT_IPV4,
      destination,
      serverIPv4: PRIMARY_IPV4,
    }),
  );
  return Buffer.from(bytes).toString('hex');
}

interface Sent {
  readonly socket: number;
  readonly hex: string;
  readonly ipv4: number;
  readonly port: number;
}

/** Scripted kernel: queued datagrams per socket, recorded sends, chosen send results. */
class FakeIo implements ServerIo {
  readonly inbox: Datagram[][] = [[], []];
  readonly sent: Sent[] = [];
  readonly raw: string[] = [];
  readonly recvCalls: number[] = [];
  /** Results for successive sendRaw calls; then success. */
  rawResults: number[] = [];
  /** Results for successive send calls (number of slots; or -errno); then all of them. */
  sendResults: number[] = [];
  rawAttempts = 0;

  recv(socket: number, batch: PacketBatch): number {
    this.recvCalls.push(socket);
    const queue = this.inbox[socket] ?? [];
    const n = Math.min(queue.length, batch.count);
    for (let i = 0; i < n; i += 1) {
      const datagram = queue.shift();
      assert.ok(datagram !== undefined);
      batch.data.set(datagram.bytes, i * batch.slotSize);
      batch.lengths[i] = datagram.bytes.length;
      batch.addresses[i] = datagram.ipv4;
      batch.ports[i] = datagram.port;
    }
    return n;
  }

  send(socket: number, batch: PacketBatch, first: number, count: number): number {
    const scripted = this.sendResults.shift();
    const result = scripted === undefined ? count : Math.min(scripted, count);
    for (let i = first; i < first + Math.max(result, 0); i += 1) {
      this.sent.push({
        socket,
        hex: Buffer.from(slotPacket(batch, i)).toString('hex'),
        ipv4: batch.addresses[i] ?? -1,
        port: batch.ports[i] ?? -1,
      });
    }
    return result;
  }

  sendRaw(bytes: Uint8Array, offset: number, length: number): number {
    this.rawAttempts += 1;
    const result = this.rawResults.shift() ?? length;
    if (result >= 0) this.raw.push(Buffer.from(bytes.subarray(offset, offset + length)).toString('hex'));
    return result;
  }

  now(): number {
    return 1000;
  }
}

function setUp(sendRetries?: number) {
  const io = new FakeIo();
  const counters = new Float64Array(SERVER_COUNTER_NAMES.length);
  const pump = createServerPump(createServerProcessor(serverParams(CONFIG)), io, counters, sendRetries);
  const counted = (): Record<string, number> =>
    Object.fromEntries(
      SERVER_COUNTER_NAMES.map((name, i) => [name, counters[i] ?? 0]).filter(([, value]) => value !== 0),
    );
  return { io, pump, counted };
}

const fromClient = (bytes: Uint8Array): Datagram => ({ bytes, ipv4: CLIENT_IPV4, port: CLIENT_PORT });

test('an RS gets its RA from the socket it arrived on; a cone RS from the other one', () => {
  const { io, pump, counted } = setUp();
  io.inbox[0]?.push(fromClient(rs()), fromClient(rs(true)));
  io.inbox[1]?.push(fromClient(rs()));
  pump.drain(0);
  pump.drain(1);
  assert.deepEqual(
    io.sent.map(({ socket, hex, ipv4, port }) => [socket, hex, ipv4, port]),
    [
      [0, expectedRa(false), CLIENT_IPV4, CLIENT_PORT],
      [1, expectedRa(true), CLIENT_IPV4, CLIENT_PORT],
      [1, expectedRa(false), CLIENT_IPV4, CLIENT_PORT],
    ],
  );
  assert.deepEqual(counted(), { received: 3, 'ra-sent': 3 });
});

test('answers for both sockets from one batch go out in arrival order per socket', () => {
  const { io, pump, counted } = setUp();
  const garbage = Uint8Array.of(0x60, 0, 0);
  io.inbox[0]?.push(
    fromClient(rs(true)),
    fromClient(garbage),
    fromClient(rs()),
    { bytes: rs(), ipv4: 0x0a000001, port: 1 }, // 10.0.0.1 is not global
    fromClient(rs(true)),
  );
  pump.drain(0);
  assert.deepEqual(
    io.sent.map((s) => s.socket),
    [0, 1, 1],
  );
  assert.equal(io.sent[0]?.hex, expectedRa(false));
  assert.equal(io.sent[1]?.hex, expectedRa(true));
  assert.deepEqual(counted(), {
    received: 5,
    'ra-sent': 3,
    'drop-malformed': 1,
    'drop-source-not-global': 1,
  });
});

test('native forwarding goes to the raw socket verbatim', () => {
  const { io, pump, counted } = setUp();
  const echo = echoToNative();
  io.inbox[0]?.push(fromClient(echo));
  pump.drain(0);
  assert.deepEqual(io.raw, [Buffer.from(echo).toString('hex')]);
  assert.deepEqual(io.sent, []);
  assert.deepEqual(counted(), { received: 1, 'forwarded-native': 1 });
});

test('raw sends are retried on the errors that report earlier ICMP errors, up to the limit', () => {
  const retried = -constants.errno.ENETUNREACH;
  const twice = setUp();
  twice.io.rawResults = [retried, -constants.errno.EHOSTUNREACH];
  twice.io.inbox[0]?.push(fromClient(echoToNative()));
  twice.pump.drain(0);
  assert.equal(twice.io.rawAttempts, 3);
  assert.equal(twice.io.raw.length, 1);
  assert.equal(twice.counted()['raw-send-failed'], undefined);

  const never = setUp(10);
  never.io.rawResults = Array.from({ length: 20 }, () => retried);
  never.io.inbox[0]?.push(fromClient(echoToNative()));
  never.pump.drain(0);
  assert.equal(never.io.rawAttempts, 11, 'one attempt and 10 retries');
  assert.deepEqual(never.counted(), { received: 1, 'forwarded-native': 1, 'raw-send-failed': 1 });

  const other = setUp();
  other.io.rawResults = [-constants.errno.EPERM, -constants.errno.EAGAIN];
  other.io.inbox[0]?.push(fromClient(echoToNative()), fromClient(echoToNative()));
  other.pump.drain(0);
  assert.equal(other.io.rawAttempts, 2, 'EPERM and EAGAIN are not retried');
  assert.equal(other.counted()['raw-send-failed'], 2);
});

test('a datagram the kernel refuses is counted and skipped; a full buffer loses the rest', () => {
  const refused = setUp();
  refused.io.sendResults = [-constants.errno.EPERM];
  refused.io.inbox[0]?.push(fromClient(rs()), fromClient(rs()), fromClient(rs()));
  refused.pump.drain(0);
  assert.equal(refused.io.sent.length, 2);
  assert.equal(refused.counted()['send-failed'], 1);

  const full = setUp();
  full.io.sendResults = [1, 0];
  full.io.inbox[0]?.push(fromClient(rs()), fromClient(rs()), fromClient(rs()));
  full.pump.drain(0);
  assert.equal(full.io.sent.length, 1);
  assert.equal(full.counted()['send-failed'], 2);
  assert.equal(full.counted()['ra-sent'], 3, 'the verdict is counted whether or not the send works');
});

test('a drain takes a bounded number of full batches and stops at a partial one', () => {
  const flood = setUp();
  const total = SERVER_BATCH_SLOTS * (SERVER_BATCHES_PER_TURN + 2);
  for (let i = 0; i < total; i += 1) flood.io.inbox[1]?.push(fromClient(rs()));
  flood.pump.drain(1);
  assert.equal(flood.io.recvCalls.length, SERVER_BATCHES_PER_TURN);
  assert.equal(flood.counted()['received'], SERVER_BATCH_SLOTS * SERVER_BATCHES_PER_TURN);
  assert.equal(flood.io.sent.length, SERVER_BATCH_SLOTS * SERVER_BATCHES_PER_TURN);
  flood.pump.drain(1);
  assert.equal(flood.counted()['received'], total);

  const few = setUp();
  few.io.inbox[0]?.push(fromClient(rs()));
  few.pump.drain(0);
  assert.deepEqual(few.io.recvCalls, [0], 'a partial batch means the socket is empty');
  few.pump.drain(0);
  assert.deepEqual(few.io.recvCalls, [0, 0]);
  assert.equal(few.io.sent.length, 1);
});

test('serverParams turns the engine configuration into the core parameters', () => {
  assert.deepEqual(serverParams({ ...CONFIG, rsRateLimit: { perSecond: 5, burst: 10 } }), {
    primaryIPv4: 0xc6336401,
    secondaryIPv4: 0xc6336402,
    prefix: 0x20010000,
    mtu: 1280,
    rsRateLimit: { perSecond: 5, burst: 10 },
    forwardRateLimit: { perSecond: 0, burst: 1 },
  });
});
