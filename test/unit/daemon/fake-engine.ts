/**
 * Engine doubles for the supervisor tests (no privileges, no pool): `ready` after init, a
 * summary on request, exit on stop. Started with the argument-free spawnEngine(), they pick
 * their behaviour from the init message's relay MTU: 1281 = crash 20 ms after ready, 1282 =
 * never become ready. Does nothing without an IPC channel (so `node --test` may load it).
 */
import { parseBootstrapToEngine } from '../../../src/daemon/ipc.js';

if (process.send !== undefined) {
  const startedAt = Date.now();
  process.on('message', (raw: unknown) => {
    const parsed = parseBootstrapToEngine(raw);
    if (!parsed.ok) return;
    const message = parsed.message;
    switch (message.type) {
      case 'init': {
        const behaviour = message.config.role === 'relay' ? message.config.interfaceMtu - 1280 : 0;
        process.stderr.write(
          `${JSON.stringify({ level: 30, pid: process.pid, msg: 'fake engine init', behaviour })}\n`,
        );
        if (behaviour === 2) return;
        process.send?.({ type: 'ready', pid: process.pid, workers: message.poolSize });
        if (behaviour === 1) setTimeout(() => process.exit(3), 20);
        return;
      }
      case 'summary':
        process.send?.({
          type: 'summary-report',
          id: message.id,
          summary: {
            role: 'relay',
            pid: process.pid,
            uptimeSeconds: (Date.now() - startedAt) / 1000,
            workers: 1,
            uid: 65534,
            gid: 65534,
            maxRssBytes: 0,
            counters: {},
          },
        });
        return;
      case 'reconfigure':
        process.stderr.write(
          `${JSON.stringify({ level: 30, pid: process.pid, msg: 'fake engine reconfigured', config: message.config })}\n`,
        );
        return;
      case 'stop':
        process.exit(0);
        return;
      default:
        return;
    }
  });
}
