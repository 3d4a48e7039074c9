/**
 * The all-ours lab and the interop lab with Debian's clients again, with ONE data-plane worker
 * in our clients and relay (the other files run with the default, one per CPU: two here).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LAB_WORKERS_ENV, tunnelExtra } from '../../../scripts/lab/lab.js';

process.env[LAB_WORKERS_ENV] = '1';

test('our clients and relays in these labs get DataplaneWorkers 1; Debian daemons nothing', () => {
  assert.deepEqual(tunnelExtra('ours', undefined), { extra: ['DataplaneWorkers 1'] });
  assert.deepEqual(tunnelExtra('ours', ['RSRateLimit 0']), {
    extra: ['RSRateLimit 0', 'DataplaneWorkers 1'],
  });
  assert.deepEqual(tunnelExtra('debian', undefined), {});
});

await import('./tunnel-all-ours.test.js');
await import('./tunnel-interop-our-infrastructure.test.js');
