/**
 * Hosts the bootstrap's real helper and engine channel (createHelper + spawnEngine, the code
 * the daemon runs) around a real TUN interface, with the rogue engine double at the other end
 * of the channel. Run inside a namespace with MTS_HELPER_HARNESS=1; logs JSON lines on
 * stderr, says "harness: engine done" when the double has exited, and keeps the interface
 * until SIGTERM so the test can inspect it. Does nothing without the variable.
 */
import { fileURLToPath } from 'node:url';

export const HARNESS_ENV = 'MTS_HELPER_HARNESS';
export const HARNESS_IFNAME = 'mtsh0';

async function main(): Promise<void> {
  const [{ SYSTEM_OS }, { createHelper, BARE_BASELINE }, { spawnEngine }, { createLogger, stderrSink }] =
    await Promise.all([
      import('../../../src/bootstrap/os-system.js'),
      import('../../../src/bootstrap/helper.js'),
      import('../../../src/bootstrap/engine-process.js'),
      import('../../../src/log/logger.js'),
    ]);
  const sink = stderrSink();
  const log = createLogger({ name: 'helper-harness', sink, level: 'debug' });
  const tun = await SYSTEM_OS.openTun(HARNESS_IFNAME, 1);
  const udp = await SYSTEM_OS.openUdp4('127.0.0.1', 0, { reusePort: true });
  const tunnel = { name: tun.name, index: tun.ifindex };
  const helper = createHelper({ tunnel, prefix: 0x20010000, baseline: BARE_BASELINE, tun: SYSTEM_OS, log });
  const engine = spawnEngine({
    enginePath: fileURLToPath(new URL('./rogue-engine.js', import.meta.url)),
    init: {
      config: {
        role: 'client',
        serverName: 'teredo.example',
        serverAddress: '198.51.100.1',
        serverAddress2: null,
        fallbackServers: [],
        localDiscovery: false,
        portMapping: 'off',
        portMappingLifetime: 3600,
        bindAddress: '127.0.0.1',
        bindPort: SYSTEM_OS.localPort(udp),
        peerTableCapacity: 1024,
      },
      interface: tunnel,
      uid: 65534,
      gid: 65534,
      chrootDir: '/',
      poolSize: 1,
      logLevel: 'debug',
    },
    fds: { tun: tun.fds, udp: [udp], raw: null },
    sink,
    log,
    onRequest: (request) => helper.handle(request),
    readyTimeoutMs: 60_000,
  });
  const exit = await engine.exited;
  log.info(
    { code: exit.code, signal: exit.signal, engine: engine.pid, ifindex: tun.ifindex },
    'harness: engine done',
  );
  // Signal listeners do not keep Node alive: a timer does, until the test's SIGTERM.
  const keepAlive = setInterval(() => undefined, 60_000);
  process.on('SIGTERM', () => {
    clearInterval(keepAlive);
    for (const fd of [...tun.fds, udp]) SYSTEM_OS.closeFd(fd);
    process.exit(0);
  });
}

if (process.env[HARNESS_ENV] === '1') {
  main().catch((error: unknown) => {
    process.stderr.write(
      `harness failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  });
}
