/**
 * The flooder, run inside its network namespace:
 *
 *   node dist/scripts/flood/flood-cli.js --server 198.51.100.1 (--packets N | --seconds S)
 *                                        [--pool N] [--batch N]
 *
 * Sends spoofed-source Router Solicitations (spoofed-rs.ts) from a raw IPv4 socket at full
 * speed. Events on stdout (tool-events.ts): `started` {at} just before the first packet, then
 * `done` with the FloodResult.
 */
import { parseArgs } from 'node:util';
import { closeFd } from '../../src/os/fd.js';
import { openRaw4 } from '../../src/os/raw.js';
import { parseIPv4 } from '../../src/teredo/ipv4.js';
import { floodFromPool } from './flood-sender.js';
import { buildSpoofedRsPool } from './spoofed-rs.js';
import { emitEvent } from './tool-events.js';

const { values } = parseArgs({
  options: {
    server: { type: 'string' },
    packets: { type: 'string' },
    seconds: { type: 'string' },
    pool: { type: 'string', default: '16384' },
    batch: { type: 'string', default: '64' },
  },
});

const server = parseIPv4(values.server ?? '');
const packets = values.packets === undefined ? undefined : Number(values.packets);
const seconds = values.seconds === undefined ? undefined : Number(values.seconds);
const poolSize = Number(values.pool);
const batch = Number(values.batch);
if (server === null) throw new Error('--server needs a dotted IPv4 address');
if (packets === undefined && seconds === undefined) throw new Error('give --packets or --seconds');
if (packets !== undefined && !(Number.isInteger(packets) && packets > 0)) throw new Error('bad --packets');
if (seconds !== undefined && !(seconds > 0)) throw new Error('bad --seconds');
if (!Number.isInteger(poolSize) || poolSize < 1 || poolSize > 65536)
  throw new Error('--pool must be 1..65536');
if (!Number.isInteger(batch) || batch < 1 || batch > 1024) throw new Error('--batch must be 1..1024');

const pool = buildSpoofedRsPool(poolSize, server);
const fd = openRaw4();
try {
  emitEvent('started', { at: Date.now() });
  const result = await floodFromPool(
    fd,
    pool,
    { ...(packets === undefined ? {} : { packets }), ...(seconds === undefined ? {} : { seconds }) },
    batch,
  );
  emitEvent('done', { ...result });
} finally {
  closeFd(fd);
}
