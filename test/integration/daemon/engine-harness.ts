/**
 * Hosts the real engine (engine/main.js, as the bootstrap spawns it: spawnEngine + the helper)
 * on a UDP socket that already holds datagrams when each engine starts: QUEUED of them before
 * the first engine, QUEUED more while no engine runs, before the second (as across a restart).
 * Run inside a namespace as root with ENGINE_HARNESS_ENV=1 and the jail in ENGINE_HARNESS_JAIL.
 * Logs JSON lines on stderr (the engines' own lines too): "harness: counted" with each engine's
 * pid, its counters once it has read them all and its /proc root, then "harness: done". Does
 * nothing without the variable.
 */
import { readlinkSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { once } from 'node:events';

export const ENGINE_HARNESS_ENV = 'MTS_ENGINE_HARNESS';
export const ENGINE_HARNESS_JAIL = 'MTS_ENGINE_HARNESS_JAIL';
export const ENGINE_HARNESS_IFNAME = 'mtse0';
/** Datagrams queued before each engine. */
export const QUEUED = 16;

async function queueDatagrams(sender: Socket, port: number): Promise<void> {
  for (let i = 0; i < QUEUED; i += 1) {
    // Junk of distinct lengths: the data plane hands it to the control plane, which drops it.
    const payload = new Uint8Array(40 + i).fill(i);
    await new Promise<void>((resolve, reject) =>
      sender.send(payload, port, '127.0.0.1', (error) => (error ? reject(error) : resolve())),
    );
  }
}

async function main(jail: string): Promise<void> {
  const [
    { SYSTEM_OS },
    { createHelper, BARE_BASELINE },
    { spawnEngine },
    { ENGINE_PATH },
    { createLogger, stderrSink },
  ] = await Promise.all([
    import('../../../src/bootstrap/os-system.js'),
    import('../../../src/bootstrap/helper.js'),
    import('../../../src/bootstrap/engine-process.js'),
    import('../../../src/bootstrap/bootstrap.js'),
    import('../../../src/log/logger.js'),
  ]);
  const sink = stderrSink();
  const log = createLogger({ name: 'engine-harness', sink, level: 'debug' });
  const tun = await SYSTEM_OS.openTun(ENGINE_HARNESS_IFNAME, 1);
  const udp = await SYSTEM_OS.openUdp4('127.0.0.1', 0, { reusePort: true });
  const port = SYSTEM_OS.localPort(udp);
  const tunnel = { name: tun.name, index: tun.ifindex };
  const helper = createHelper({ tunnel, prefix: 0x20010000, baseline: BARE_BASELINE, tun: SYSTEM_OS, log });
  const sender = createSocket('udp4');
  sender.bind(0, '127.0.0.1');
  await once(sender, 'listening');

  for (const round of [1, 2]) {
    await queueDatagrams(sender, port);
    const engine = spawnEngine({
      enginePath: ENGINE_PATH,
      init: {
        config: {
          role: 'relay',
          relayType: 'cone',
          prefix: 0x20010000,
          interfaceMtu: 1280,
          bindAddress: '127.0.0.1',
          bindPort: port,
          peerTableCapacity: 1024,
        },
        interface: tunnel,
        uid: 65534,
        gid: 65534,
        chrootDir: jail,
        poolSize: 1,
        logLevel: 'info',
      },
      fds: { tun: tun.fds, udp: [udp], raw: null },
      sink,
      log,
      onRequest: (request) => helper.handle(request),
      readyTimeoutMs: 30_000,
    });
    const start = await engine.ready;
    if (!start.ok) throw new Error(`engine ${round} did not start: ${start.reason}`);
    // The counters live in the engine: ask until this engine has read every queued datagram.
    const deadline = Date.now() + 20_000;
    let counters: Record<string, number> = {};
    while ((counters['udp-received'] ?? 0) < QUEUED) {
      if (Date.now() > deadline) throw new Error(`engine ${round} read ${JSON.stringify(counters)}`);
      counters = (await engine.requestSummary(5000))?.counters ?? {};
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    log.info(
      { round, engine: engine.pid, counters, root: readlinkSync(`/proc/${engine.pid}/root`) },
      'harness: counted',
    );
    await engine.stop(5000);
    await helper.revertEngineChanges();
  }
  sender.close();
  for (const fd of [...tun.fds, udp]) SYSTEM_OS.closeFd(fd);
  log.info('harness: done');
}

const jail = process.env[ENGINE_HARNESS_JAIL];
if (process.env[ENGINE_HARNESS_ENV] === '1' && jail !== undefined) {
  main(jail).catch((error: unknown) => {
    process.stderr.write(
      `harness failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  });
}
