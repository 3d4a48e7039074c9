/**
 * Maintenance through its file (src/bootstrap/maintenance.ts, src/ipc/maintenance-request.ts):
 * the file is read at the announcer's start and on each SIGUSR2, checked with its schema; an
 * unreadable or invalid one keeps the current state; no announcer, the signal is ignored.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MaintenanceSwitch, readMaintenanceFile } from '../../../src/bootstrap/maintenance.js';
import type { Announcer } from '../../../src/bootstrap/announcer.js';
import { maintenanceFilePath, parseMaintenanceRequest } from '../../../src/ipc/maintenance-request.js';
import { captureLog } from '../../support/fakes.js';

const REQUEST = JSON.stringify({ maintenance: true, since: '2026-12-08T03:00:00.000Z' });

function directory(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'miredo-maintenance-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('the file sits next to the PID file, and its request is checked', () => {
  assert.equal(maintenanceFilePath('/run/miredo-ts/miredo.pid'), '/run/miredo-ts/miredo.maintenance');
  assert.equal(maintenanceFilePath('/tmp/relay'), '/tmp/relay.maintenance');
  assert.ok(parseMaintenanceRequest(REQUEST).ok);
  assert.equal(parseMaintenanceRequest('{"maintenance":false,"since":""}').ok, false);
  assert.equal(parseMaintenanceRequest('{"maintenance":true,"since":"x","extra":1}').ok, false);
  assert.equal(parseMaintenanceRequest('{"maintenance":true,"since":"\\u001b[2J"}').ok, false);
  assert.equal(parseMaintenanceRequest('maintenance').ok, false);
});

test('absent: false; valid: true; invalid, too long or a symbolic link: an error text', (t) => {
  const dir = directory(t);
  const path = join(dir, 'relay.maintenance');
  assert.equal(readMaintenanceFile(path), false);
  writeFileSync(path, REQUEST);
  assert.equal(readMaintenanceFile(path), true);
  writeFileSync(path, '{"maintenance":"yes"}');
  assert.equal(typeof readMaintenanceFile(path), 'string');
  writeFileSync(path, ' '.repeat(2000));
  assert.equal(readMaintenanceFile(path), 'too long');
  rmSync(path);
  writeFileSync(join(dir, 'elsewhere'), REQUEST);
  symlinkSync(join(dir, 'elsewhere'), path);
  assert.equal(typeof readMaintenanceFile(path), 'string', 'not followed');
});

test('SIGUSR2 switches the announcer as the file says; a bad file keeps the state', (t) => {
  const dir = directory(t);
  const pidFile = join(dir, 'relay.pid');
  const { log, records } = captureLog();
  const maintenance = new MaintenanceSwitch(pidFile, log);
  const told: boolean[] = [];
  const announcer = { setMaintenance: (on: boolean) => told.push(on) } as unknown as Announcer;
  writeFileSync(maintenanceFilePath(pidFile), REQUEST);
  assert.equal(maintenance.on, true, 'read when the first announcer starts');
  assert.ok(records.some((record) => String(record['msg']).startsWith('Starting in maintenance')));
  writeFileSync(maintenanceFilePath(pidFile), 'garbage');
  maintenance.signalled(announcer);
  rmSync(maintenanceFilePath(pidFile));
  maintenance.signalled(announcer);
  assert.deepEqual(told, [true, false]);
  assert.ok(records.some((record) => String(record['msg']).startsWith('Maintenance file')));
  maintenance.signalled(null);
  assert.ok(records.some((record) => String(record['msg']) === 'Ignoring signal 12 (User defined signal 2)'));
});
