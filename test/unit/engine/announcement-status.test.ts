/**
 * A relay's announcement as miredo-ctl and the metrics show it: the bootstrap's `announcement`
 * message (schema), the status line, the `miredo_announced` gauge; nothing for a daemon without
 * an AnnounceTable.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatStatus } from '../../../src/cli/ctl-format.js';
import { createControlAnswer, renderMetrics } from '../../../src/engine/control-queries.js';
import type { ControlSources } from '../../../src/engine/control-queries.js';
import type { ControlPlane } from '../../../src/engine/control-plane.js';
import { parseBootstrapToEngine } from '../../../src/ipc/bootstrap-engine-messages.js';
import type { AnnouncementMessage, EngineSummary } from '../../../src/ipc/bootstrap-engine-messages.js';

const SUMMARY: EngineSummary = {
  role: 'relay',
  pid: 42,
  uptimeSeconds: 3,
  workers: 2,
  uid: 65534,
  gid: 65534,
  maxRssBytes: 1,
  counters: {},
};

const CONTROL = {
  status: () => ({
    address: null,
    qualified: null,
    natType: null,
    mapping: null,
    qualificationSeconds: null,
    qualifiedForSeconds: null,
    mtu: 1280,
    prefix: '2001::/32',
    servers: [],
    peerTable: null,
  }),
  nativePeers: () => Promise.resolve(null),
  metricFamilies: () => [],
} as unknown as ControlPlane;

function sources(announcement: AnnouncementMessage | null): ControlSources {
  return {
    summary: () => SUMMARY,
    control: CONTROL,
    interfaceName: 'teredo',
    announcement: () => announcement,
  };
}

test('the announcement message is checked: printable, short reason', () => {
  const message = { type: 'announcement', table: 3544, announced: false, reason: 'draining' };
  assert.ok(parseBootstrapToEngine(message).ok);
  assert.equal(parseBootstrapToEngine({ ...message, reason: 'x'.repeat(65) }).ok, false);
  assert.equal(parseBootstrapToEngine({ ...message, reason: 'bad\u001b[2J' }).ok, false);
});

test('status and metrics show whether the relay is announced, and why not', async () => {
  const withdrawn: AnnouncementMessage = {
    type: 'announcement',
    table: 3544,
    announced: false,
    reason: 'data-plane worker(s) 1 stalled',
  };
  const reply = await createControlAnswer(sources(withdrawn))({ command: 'status' });
  assert.ok(reply.kind === 'status');
  assert.deepEqual(reply.status.announcement, { table: 3544, announced: false, reason: withdrawn.reason });
  assert.match(
    formatStatus(reply.status),
    /^Announced: +no, withdrawn \(table 3544\): data-plane worker\(s\) 1 stalled$/m,
  );
  assert.match(renderMetrics(sources(withdrawn)), /^miredo_announced\{table="3544"\} 0$/m);
  assert.match(
    renderMetrics(sources({ ...withdrawn, announced: true })),
    /^miredo_announced\{table="3544"\} 1$/m,
  );
});

test('status and metrics show the hold-down and maintenance', async () => {
  const held: AnnouncementMessage = {
    type: 'announcement',
    table: 3544,
    announced: false,
    reason: 'maintenance',
    maintenance: true,
    holdDownSeconds: 8,
  };
  assert.ok(parseBootstrapToEngine(held).ok);
  assert.equal(parseBootstrapToEngine({ ...held, holdDownSeconds: -1 }).ok, false);
  const reply = await createControlAnswer(sources(held))({ command: 'status' });
  assert.ok(reply.kind === 'status');
  assert.deepEqual(reply.status.announcement, {
    table: 3544,
    announced: false,
    reason: 'maintenance',
    maintenance: true,
    holdDownSeconds: 8,
  });
  assert.match(
    formatStatus(reply.status),
    /^Announced: +no, withdrawn \(table 3544\): maintenance \[maintenance until miredo-ctl announce; hold-down 8 s\]$/m,
  );
  const metrics = renderMetrics(sources(held));
  assert.match(metrics, /^miredo_announce_hold_down_seconds\{table="3544"\} 8$/m);
  assert.match(metrics, /^miredo_announce_maintenance\{table="3544"\} 1$/m);
});

test('without an AnnounceTable: no line, no gauge', async () => {
  const reply = await createControlAnswer(sources(null))({ command: 'status' });
  assert.ok(reply.kind === 'status');
  assert.equal(reply.status.announcement, undefined);
  assert.doesNotMatch(formatStatus(reply.status), /Announced/);
  assert.doesNotMatch(renderMetrics(sources(null)), /miredo_announced/);
});
