/**
 * The flooder, run inside its network namespace:
 *
 *   node dist/scripts/flood/flood-cli.js --server 198.51.100.1 (--packets N | --seconds S)
 *                                        [--pool N] [--batch N]
 *   node dist/scripts/flood/flood-cli.js --teredo 198.51.100.100:40000 --address 2001:0:...
 *                                        --server 198.51.100.1 [--payload echo|bubble]
 *                                        (--packets N | --seconds S) [--pool N] [--batch N]
 *
 * From a raw IPv4 socket at full speed: spoofed-source Router Solicitations to the server
 * (spoofed-rs.ts), or, with --teredo, spoofed self-consistent Teredo datagrams to a client's
 * mapped address and port for its Teredo address `--address`, every one from a new source
 * (spoofed-teredo.ts; --server is then the server their addresses name). Events on stdout
 * (tool-events.ts): `started` {at} just before the first packet, then `done` with the FloodResult.
 */
import { parseArgs } from 'node:util';
import { closeFd } from '../../src/os/fd.js';
import { openRaw4 } from '../../src/os/raw.js';
import { parseIPv6 } from '../../src/teredo/address.js';
import { parseIPv4 } from '../../src/teredo/ipv4.js';
import { floodFromPool } from './flood-sender.js';
import { buildSpoofedRsPool } from './spoofed-rs.js';
import { buildSpoofedTeredoPool, SPOOFED_PAYLOADS } from './spoofed-teredo.js';
import type { SpoofedPayload, SpoofedTeredoPool } from './spoofed-teredo.js';
import { emitEvent } from './tool-events.js';

const { values } = parseArgs({
  options: {
    server: { type: 'string' },
    teredo: { type: 'string' },
    address: { type: 'string' },
    payload: { type: 'string', default: 'echo' },
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

/** The --teredo pool, or null for Router Solicitations. */
function teredoPool(): SpoofedTeredoPool | null {
  if (values.teredo === undefined) return null;
  const [host, portText] = values.teredo.split(':');
  const ipv4 = parseIPv4(host ?? '');
  const port = Number(portText);
  const address = parseIPv6(values.address ?? '');
  const payload = values.payload as SpoofedPayload;
  if (ipv4 === null || !(Number.isInteger(port) && port > 0 && port < 0x10000)) {
    throw new Error('--teredo needs IPV4:PORT');
  }
  if (address === null) throw new Error('--teredo needs --address, the client’s Teredo address');
  if (!SPOOFED_PAYLOADS.includes(payload))
    throw new Error(`--payload must be ${SPOOFED_PAYLOADS.join(' or ')}`);
  return buildSpoofedTeredoPool(poolSize, { ipv4, port, address, server: server ?? 0 }, payload);
}

const teredo = teredoPool();
const pool = teredo?.pool ?? buildSpoofedRsPool(poolSize, server);
const fd = openRaw4();
try {
  emitEvent('started', { at: Date.now() });
  const result = await floodFromPool(
    fd,
    pool,
    { ...(packets === undefined ? {} : { packets }), ...(seconds === undefined ? {} : { seconds }) },
    batch,
    teredo === null ? undefined : (turn) => teredo.respawn(turn),
  );
  emitEvent('done', { ...result });
} finally {
  closeFd(fd);
}
