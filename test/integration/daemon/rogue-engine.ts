/**
 * An engine double for the helper test: started by the real spawnEngine() in the harness, it
 * writes a log line forged to look like the harness's own, sends out-of-policy (and some
 * in-policy) requests through the real channel and logs each reply as a pino-style JSON line on
 * stderr, which the harness forwards like a real engine's log. Once every reply is in, it sends
 * a malformed request, a protocol violation the harness must kill it for. Does nothing unless
 * spawnEngine() started it (so `node --test` may load it).
 */
import { parseBootstrapToEngine } from '../../../src/ipc/bootstrap-engine-messages.js';
import type { FrameChannel } from '../../../src/ipc/channel.js';
import { engineDoubleChannel } from '../../support/engine-channel.js';

type Outgoing = Record<string, unknown> & { readonly id: number };

function logLine(fields: Record<string, unknown>): void {
  process.stderr.write(`${JSON.stringify({ level: 30, time: Date.now(), pid: process.pid, ...fields })}\n`);
}

const replies = new Map<number, unknown>();
let expected = 0;
let malformed: Outgoing | null = null;
const channel: FrameChannel | null = engineDoubleChannel({
  message: (raw: unknown) => {
    const parsed = parseBootstrapToEngine(raw);
    if (!parsed.ok) {
      logLine({ msg: 'rogue: invalid message', error: parsed.error });
      return;
    }
    const message = parsed.message;
    if (message.type === 'init') {
      // As the harness (the bootstrap) would write it: its name, its pid, the highest level.
      logLine({ level: 80, pid: process.ppid, name: 'helper-harness', engine: 1, msg: 'rogue: forged' });
      const ifindex = message.interface?.index ?? 0;
      const requests: Outgoing[] = [
        { type: 'set-mtu', id: 1, ifindex: 1, mtu: 1400 },
        { type: 'set-address', id: 2, ifindex, address: '2001:db8::1', prefixLen: 64 },
        { type: 'set-mtu', id: 3, ifindex, mtu: 1000 },
        { type: 'set-route', id: 5, ifindex, dst: '2001:db8::', prefixLen: 32, metric: 1024 },
        { type: 'set-address', id: 6, ifindex: 1, address: '2001:0:c633:6401::1', prefixLen: 32 },
        { type: 'set-mtu', id: 7, ifindex, mtu: 1400 },
        { type: 'set-address', id: 8, ifindex, address: '2001:0:c633:6401::1', prefixLen: 32 },
      ];
      malformed = { type: 'set-mtu', id: 4, ifindex, mtu: 'big' };
      expected = requests.length;
      for (const request of requests) channel?.send(request);
      return;
    }
    if (message.type === 'reply') {
      replies.set(message.id, message.result);
      logLine({ msg: 'rogue: reply', id: message.id, result: message.result });
      if (replies.size === expected && malformed !== null) {
        logLine({ msg: 'rogue: sending a malformed request' });
        channel?.send(malformed);
      }
    }
  },
  violation: () => process.exit(2),
  closed: () => process.exit(0),
});
