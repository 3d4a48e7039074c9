/**
 * The legitimate client of the flood test, run inside its network namespace:
 *
 *   node dist/scripts/flood/rs-probe-cli.js --server 198.51.100.1 [--timeout MS] [--resend MS] [--wait-go]
 *
 * Events on stdout (tool-events.ts): `ready` {localPort} once the socket is bound; with
 * --wait-go it then waits for one line on stdin before the first RS; `result` (a ProbeResult).
 */
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { openRsProbe } from './rs-probe.js';
import { emitEvent } from './tool-events.js';

const { values } = parseArgs({
  options: {
    server: { type: 'string' },
    timeout: { type: 'string', default: '2000' },
    resend: { type: 'string', default: '250' },
    'wait-go': { type: 'boolean', default: false },
  },
});
const timeoutMs = Number(values.timeout);
const resendMs = Number(values.resend);
if (values.server === undefined) throw new Error('--server is required');
if (!(timeoutMs > 0) || !(resendMs > 0)) throw new Error('--timeout and --resend must be > 0');

const probe = await openRsProbe();
try {
  emitEvent('ready', { localPort: probe.localPort });
  if (values['wait-go']) {
    const lines = createInterface({ input: process.stdin });
    await once(lines, 'line');
    lines.close();
  }
  const result = await probe.run({ server: values.server, timeoutMs, resendMs });
  emitEvent('result', { ...result });
} finally {
  probe.close();
}
