/**
 * Engine doubles for the supervisor tests (no privileges, no pool): `ready` after init, a
 * summary on request, exit on stop. Started by the real spawnEngine(), they pick
 * their behaviour from the init message's relay MTU: 1281 = crash 20 ms after ready, 1282 =
 * never become ready, 1283 = ask for the address 2001::1/128 once ready, 1284 = exit
 * leaving a descendant that holds its output, 1285 = send a message no schema accepts. Does nothing unless spawnEngine() started it (so `node --test` may load it).
 */
import { spawn } from 'node:child_process';
import { parseBootstrapToEngine } from '../../src/ipc/bootstrap-engine-messages.js';
import type { FrameChannel } from '../../src/ipc/channel.js';
import { engineDoubleChannel } from './engine-channel.js';

const startedAt = Date.now();
const channel: FrameChannel | null = engineDoubleChannel({
  message: (raw: unknown) => {
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
        channel?.send({ type: 'ready', pid: process.pid, workers: message.poolSize });
        if (behaviour === 1) setTimeout(() => process.exit(3), 20);
        if (behaviour === 4) {
          // A descendant keeps the engine's stdout and stderr open after the engine exits.
          const sleeper = spawn('sleep', ['30'], { stdio: ['ignore', 'inherit', 'inherit'] });
          process.stderr.write(
            `${JSON.stringify({ level: 30, pid: process.pid, msg: 'fake engine descendant', sleeper: sleeper.pid })}\n`,
          );
          sleeper.unref();
          setTimeout(() => process.exit(0), 20);
        }
        if (behaviour === 5) channel?.send({ type: 'ready', pid: 0, workers: 1 });
        if (behaviour === 3) {
          const ifindex = message.interface?.index ?? 0;
          channel?.send({ type: 'set-address', id: 1, ifindex, address: '2001::1', prefixLen: 128 });
        }
        return;
      }
      case 'summary':
        channel?.send({
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
      case 'requalify':
        process.stderr.write(
          `${JSON.stringify({ level: 30, pid: process.pid, msg: 'fake engine requalify', reason: message.reason })}\n`,
        );
        return;
      case 'stop':
        process.exit(0);
        return;
      default:
        return;
    }
  },
  violation: () => process.exit(2),
  closed: () => process.exit(0),
});
