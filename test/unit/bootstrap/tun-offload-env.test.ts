/** MIREDO_TS_TUN_OFFLOAD and the test-only MIREDO_TS_TUN_OFFLOAD_REFUSE (src/bootstrap/tun-offload-env.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TUN_OFFLOAD_DEFAULT, tunOffloadOptions } from '../../../src/bootstrap/tun-offload-env.js';
import { TUN_F_CSUM, TUN_F_TSO6, TUN_F_USO6, TUN_OFFLOADS_WANTED } from '../../../src/os/tun.js';

test('offloads: off by default, on with yes/1/on/true, off with no/0/off/false; refusals for tests', () => {
  assert.equal(TUN_OFFLOAD_DEFAULT, false);
  assert.deepEqual(tunOffloadOptions({}), { offloads: 0, refuse: 0 });
  for (const on of ['yes', '1', 'On', ' true '])
    assert.equal(tunOffloadOptions({ MIREDO_TS_TUN_OFFLOAD: on }).offloads, TUN_OFFLOADS_WANTED);
  for (const off of ['no', '0', 'OFF', 'false', 'bogus'])
    assert.equal(tunOffloadOptions({ MIREDO_TS_TUN_OFFLOAD: off }).offloads, 0);
  const refused = (value: string): number =>
    tunOffloadOptions({ MIREDO_TS_TUN_OFFLOAD: 'yes', MIREDO_TS_TUN_OFFLOAD_REFUSE: value }).refuse ?? 0;
  assert.equal(refused('uso'), TUN_F_USO6);
  assert.equal(refused('tso'), TUN_F_TSO6);
  assert.equal(refused('all'), TUN_F_CSUM);
  assert.equal(refused('nothing'), 0);
});
