/**
 * How many packets per second batched TUN I/O moves, as root, in a throw-away network namespace.
 *
 *   node dist/scripts/bench-tun.js [--seconds N] [--batch N] [--bytes N]
 *
 * Inside the namespace: two TUN devices, IPv6 forwarding on. A worker thread writes batches of
 * IPv6/UDP packets into the first TUN queue (writeTunBatch) as fast as it can; the kernel
 * forwards them to a /48 routed through the second TUN; the main thread drains that queue with
 * readTunBatch, woken by watchReadable like the data plane. The figure is packets read from the
 * queue per second (the writer's rate and the kernel's drops are reported too). On a 2-core
 * machine each side has a core. Prints one JSON line, then one line for humans.
 */
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { isMainThread, Worker, workerData } from 'node:worker_threads';
import { closeFd } from '../src/os/fd.js';
import { createPacketBatch, slotOffset } from '../src/os/packet-batch.js';
import { errnoName, readTunBatch, watchReadable, writeTunBatch } from '../src/os/packet-io.js';
import { addAddress6, addRoute6, openTun, setLinkUp, setMtu } from '../src/os/tun.js';

const TARGET_PACKETS_PER_SECOND = 300_000;
const IN_NETNS = 'MTS_BENCH_TUN_NETNS';

interface Options {
  readonly seconds: number;
  readonly batch: number;
  readonly bytes: number;
}

interface WriterData {
  readonly fd: number;
  readonly options: Options;
  /** Int32 [stop flag, packets written / 1 (low 31 bits are enough for a run)]. */
  readonly control: SharedArrayBuffer;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '3' },
      batch: { type: 'string', default: '64' },
      bytes: { type: 'string', default: '100' },
    },
  });
  const options = {
    seconds: Number(values.seconds),
    batch: Number(values.batch),
    bytes: Number(values.bytes),
  };
  if (
    !(options.seconds > 0) ||
    !Number.isInteger(options.batch) ||
    options.batch < 1 ||
    options.batch > 1024
  ) {
    throw new Error('--seconds must be > 0 and --batch 1..1024');
  }
  if (!Number.isInteger(options.bytes) || options.bytes < 48 || options.bytes > 1280) {
    throw new Error('--bytes (whole IPv6 packet) must be 48..1280');
  }
  return options;
}

function address(text: string): Uint8Array {
  return Uint8Array.from(Buffer.from(text, 'hex'));
}

/** IPv6/UDP packet of `bytes` bytes from 2001:db8:a::2 to 2001:db8:bb::<flow>; UDP checksum 0 (forwarding never checks it). */
function packet(bytes: number, flow: number): Uint8Array {
  const p = new Uint8Array(bytes);
  const view = new DataView(p.buffer);
  view.setUint32(0, 0x60000000);
  view.setUint16(4, bytes - 40);
  p[6] = 17;
  p[7] = 64;
  p.set(address('20010db8000a00000000000000000002'), 8);
  p.set(address('20010db800bb00000000000000000000'), 24);
  view.setUint16(38, flow);
  view.setUint16(40, 40000 + flow);
  view.setUint16(42, 9);
  view.setUint16(44, bytes - 40);
  return p;
}

/** Worker thread: writes batches until told to stop, counting what the kernel took. */
function runWriter({ fd, options, control }: WriterData): void {
  const shared = new Int32Array(control);
  const outbox = createPacketBatch(options.batch, 1280);
  for (let i = 0; i < options.batch; i++) {
    outbox.data.set(packet(options.bytes, i), slotOffset(outbox, i));
    outbox.lengths[i] = options.bytes;
  }
  while (Atomics.load(shared, 0) === 0) {
    const w = writeTunBatch(fd, outbox, 0, options.batch);
    if (w < 0) throw new Error(`writeTunBatch: ${errnoName(w)}`);
    Atomics.add(shared, 1, w);
  }
}

function txDropped(ifname: string): number {
  return Number(readFileSync(`/sys/class/net/${ifname}/statistics/tx_dropped`, 'utf8'));
}

async function runInNetns(options: Options): Promise<void> {
  const input = openTun('mtsa', 1);
  const output = openTun('mtsb', 1);
  writeFileSync('/proc/sys/net/ipv6/conf/all/forwarding', '1');
  for (const [tun, prefix] of [
    [input, '20010db8000a00000000000000000001'],
    [output, '20010db8000b00000000000000000001'],
  ] as const) {
    setMtu(tun.name, 1280);
    setLinkUp(tun.name, true);
    addAddress6(tun.ifindex, address(prefix), 64);
  }
  addRoute6(output.ifindex, address('20010db800bb00000000000000000000'), 48, 1024);
  const [writeFd] = input.fds;
  const [readFd] = output.fds;
  if (writeFd === undefined || readFd === undefined) throw new Error('no TUN queue');

  const inbox = createPacketBatch(options.batch, 1280);
  let read = 0;
  let other = 0;
  let wakeups = 0;
  const drain = (): void => {
    wakeups++;
    for (let r = readTunBatch(readFd, inbox); r !== 0; r = readTunBatch(readFd, inbox)) {
      if (r < 0) throw new Error(`readTunBatch: ${errnoName(r)}`);
      for (let i = 0; i < r; i++) {
        if (inbox.lengths[i] === options.bytes) read++;
        else other++;
      }
    }
  };
  const watch = watchReadable(readFd, (status) => {
    if (status < 0) throw new Error(`poll: ${errnoName(status)}`);
    drain();
  });

  const control = new SharedArrayBuffer(8);
  const shared = new Int32Array(control);
  const writerData: WriterData = { fd: writeFd, options, control };
  const writer = new Worker(fileURLToPath(import.meta.url), { workerData: writerData });
  const writerExit = new Promise<number>((resolve, reject) => {
    writer.on('exit', resolve);
    writer.on('error', reject);
  });
  const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

  await sleep(300); // warm-up: JIT, worker start, route cache
  const written0 = Atomics.load(shared, 1);
  const read0 = read;
  const dropped0 = txDropped('mtsb');
  const wakeups0 = wakeups;
  const start = process.hrtime.bigint();
  await sleep(options.seconds * 1000);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const packetsRead = read - read0;
  const packetsWritten = Atomics.load(shared, 1) - written0;
  const dropped = txDropped('mtsb') - dropped0;
  const calls = wakeups - wakeups0;
  Atomics.store(shared, 0, 1);
  await writerExit;
  watch.stop();
  for (const fd of [...input.fds, ...output.fds]) closeFd(fd);

  const packetsPerSecond = Math.round(packetsRead / seconds);
  const result = {
    benchmark: 'tun-batch-io',
    packetsPerSecond,
    writePacketsPerSecond: Math.round(packetsWritten / seconds),
    packetsRead,
    packetsWritten,
    droppedByKernel: dropped,
    otherPackets: other,
    packetsPerWakeup: Number((packetsRead / Math.max(1, calls)).toFixed(1)),
    seconds: Number(seconds.toFixed(3)),
    batch: options.batch,
    packetBytes: options.bytes,
    targetPacketsPerSecond: TARGET_PACKETS_PER_SECOND,
    meetsTarget: packetsPerSecond >= TARGET_PACKETS_PER_SECOND,
  };
  console.log(JSON.stringify(result));
  const n = (value: number): string => value.toLocaleString('en-US');
  console.log(
    `TUN batched read: ${n(packetsPerSecond)} packets/s (${options.bytes}-byte IPv6 packets, batches of ` +
      `${options.batch}; writer ${n(result.writePacketsPerSecond)} packets/s, ${n(dropped)} dropped by the ` +
      `kernel queue) — target ${n(TARGET_PACKETS_PER_SECOND)}: ${result.meetsTarget ? 'met' : 'NOT met'}`,
  );
}

async function runOutside(): Promise<number> {
  if (process.getuid?.() !== 0) {
    console.error('bench-tun needs root (network namespace, TUN devices)');
    return 2;
  }
  const netns = `mts-bench-${randomBytes(4).toString('hex')}`;
  execFileSync('ip', ['netns', 'add', netns]);
  // The child gets Ctrl-C too; we stay to delete the namespace.
  const ignore = (): void => undefined;
  process.on('SIGINT', ignore);
  process.on('SIGTERM', ignore);
  try {
    const child = spawn(
      'ip',
      ['netns', 'exec', netns, process.execPath, fileURLToPath(import.meta.url), ...process.argv.slice(2)],
      { stdio: 'inherit', env: { ...process.env, [IN_NETNS]: '1' } },
    );
    const [code] = await new Promise<[number | null]>((resolve) => child.on('exit', (c) => resolve([c])));
    return code ?? 1;
  } finally {
    execFileSync('ip', ['netns', 'delete', netns]);
    process.off('SIGINT', ignore);
    process.off('SIGTERM', ignore);
  }
}

if (!isMainThread) {
  runWriter(workerData as WriterData);
} else if (process.env[IN_NETNS] === '1') {
  await runInNetns(parseOptions());
} else {
  parseOptions();
  process.exitCode = await runOutside();
}
