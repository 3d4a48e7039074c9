/** Who the bootstrap may start as (src/bootstrap/start-mode.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NOT_ROOT_MESSAGE, startMode } from '../../../src/bootstrap/start-mode.js';
import { CAP_NET_ADMIN, CAP_NET_RAW, CAP_SYS_CHROOT } from '../../../src/os/capabilities.js';

const caps = (...numbers: number[]): bigint => numbers.reduce((set, n) => set | (1n << BigInt(n)), 0n);
const users: Record<string, { name: string; uid: number; gid: number }> = {
  miredo: { name: 'miredo', uid: 103, gid: 65534 },
  nobody: { name: 'nobody', uid: 65534, gid: 65534 },
};
const lookup = (name: string) => users[name] ?? null;
const service = { uid: 103, gid: 65534 };

test('root starts as today, whatever its capabilities say', () => {
  assert.deepEqual(startMode('miredo', { uid: 0, gid: 0 }, 0n, 'nobody', lookup), { kind: 'root' });
});

test("a service user with the role's capabilities: the engine runs as that user", () => {
  const client = caps(CAP_NET_ADMIN, CAP_SYS_CHROOT);
  assert.deepEqual(startMode('miredo', service, client, null, lookup), { kind: 'service-user', ...service });
  assert.deepEqual(startMode('miredo', service, client, 'miredo', lookup), {
    kind: 'service-user',
    ...service,
  });
  const server = caps(CAP_NET_RAW, CAP_SYS_CHROOT);
  assert.deepEqual(startMode('miredo-server', service, server, null, lookup), {
    kind: 'service-user',
    ...service,
  });
});

test('without a capability the role needs, or with another -u, or the root group: refused', () => {
  const refused = { kind: 'refused', message: `miredo: ${NOT_ROOT_MESSAGE}` };
  assert.deepEqual(startMode('miredo', service, 0n, null, lookup), refused);
  assert.deepEqual(startMode('miredo', service, caps(CAP_NET_ADMIN), null, lookup), refused);
  assert.deepEqual(startMode('miredo', service, caps(CAP_NET_RAW, CAP_SYS_CHROOT), null, lookup), refused);
  assert.equal(
    startMode('miredo-server', service, caps(CAP_NET_ADMIN, CAP_SYS_CHROOT), null, lookup).kind,
    'refused',
  );
  assert.deepEqual(
    startMode('miredo', { uid: 103, gid: 0 }, caps(CAP_NET_ADMIN, CAP_SYS_CHROOT), null, lookup),
    refused,
  );
  const other = startMode('miredo', service, caps(CAP_NET_ADMIN, CAP_SYS_CHROOT), 'nobody', lookup);
  assert.equal(other.kind, 'refused');
  if (other.kind === 'refused') assert.match(other.message, /-u nobody: without root/);
});
