/**
 * The NAT type probe (src/teredo/nat-type.ts): the classification of two mappings, and the probe
 * machine against a server answering on its second address, or silent.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  createServerAction,
  createServerProcessor,
  SERVER_ACTION_SEND_UDP,
} from '../../../src/teredo/server.js';
import { TEREDO_CONSTANTS } from '../../../src/teredo/constants.js';
import { classifyNat, createNatProbe, NAT_PROBE } from '../../../src/teredo/nat-type.js';
import type { NatProbeAction } from '../../../src/teredo/nat-type.js';
import { createSecurityContext } from '../../../src/teredo/security.js';

const LOCAL = { ipv4: 0x0a000002, port: 20001 };
const PUBLIC = 0xcb007105;
const SERVER = 0xc6336401;
const SECONDARY = 0xc6336402;

describe('classifyNat', () => {
  it('tells apart what two server addresses can tell apart', () => {
    assert.equal(classifyNat(LOCAL, LOCAL, LOCAL), 'no-nat');
    const kept = { ipv4: PUBLIC, port: LOCAL.port };
    assert.equal(classifyNat(LOCAL, kept, kept), 'cone-port-preserving');
    const moved = { ipv4: PUBLIC, port: 61000 };
    assert.equal(classifyNat(LOCAL, moved, moved), 'cone');
    assert.equal(
      classifyNat(LOCAL, { ipv4: PUBLIC, port: 40007 }, { ipv4: PUBLIC, port: 40008 }),
      'symmetric-sequential',
    );
    assert.equal(
      classifyNat(LOCAL, { ipv4: PUBLIC, port: 65535 }, { ipv4: PUBLIC, port: 3 }),
      'symmetric-sequential',
      'wraps',
    );
    assert.equal(
      classifyNat(
        LOCAL,
        { ipv4: PUBLIC, port: 40007 },
        { ipv4: PUBLIC, port: 40007 + NAT_PROBE.sequentialStep + 1 },
      ),
      'symmetric',
    );
    assert.equal(
      classifyNat(LOCAL, { ipv4: PUBLIC, port: 40008 }, { ipv4: PUBLIC, port: 40007 }),
      'symmetric',
      'backwards',
    );
    assert.equal(
      classifyNat(LOCAL, kept, { ipv4: PUBLIC + 1, port: LOCAL.port }),
      'symmetric',
      'another address',
    );
    assert.equal(classifyNat(LOCAL, kept, null), 'unknown');
  });
});

describe('the probe', () => {
  const security = createSecurityContext(new Uint8Array(16).fill(7), 42);
  const probe = () =>
    createNatProbe({ security, serverIPv4: SERVER, secondaryIPv4: SECONDARY, constants: TEREDO_CONSTANTS });
  const sendOf = (actions: readonly NatProbeAction[]) => {
    const send = actions[0];
    assert.ok(send?.kind === 'send');
    return send;
  };

  it("first has the second address send to our mapping (a cone RS to the primary), then sends the second address an RS; our server's answer classifies", () => {
    const p = probe();
    const server = createServerProcessor({
      primaryIPv4: SERVER,
      secondaryIPv4: SECONDARY,
      prefix: 0x20010000,
      mtu: 1280,
      rsRateLimit: { perSecond: 0, burst: 0 },
      forwardRateLimit: { perSecond: 0, burst: 0 },
    });
    const out = new Uint8Array(256);
    const action = createServerAction();
    const cone = sendOf(p.start(LOCAL, { ipv4: PUBLIC, port: 40007 }, 1000));
    assert.deepEqual([cone.ipv4, cone.port], [SERVER, 3544]);
    server.process(cone.datagram, 0, cone.datagram.length, PUBLIC, 40007, 0, 1000, out, 0, action);
    assert.equal(action.kind, SERVER_ACTION_SEND_UDP);
    assert.equal(action.socket, 1, 'the cone RS is answered from the second address');
    const stranger = out.slice(0, action.length);
    assert.equal(
      p.offer(stranger, 0, stranger.length, 3544, 1010),
      null,
      'its answer is left to qualification',
    );
    assert.deepEqual(p.timer(1000 + NAT_PROBE.strangerDelayMs - 1), []);
    const send = sendOf(p.timer(1000 + NAT_PROBE.strangerDelayMs));
    assert.deepEqual([send.ipv4, send.port], [SECONDARY, 3544]);
    // Our server, answering on its secondary socket, NAT mapping 203.0.113.5:40008.
    server.process(send.datagram, 0, send.datagram.length, PUBLIC, 40008, 1, 1000, out, 0, action);
    assert.equal(action.kind, SERVER_ACTION_SEND_UDP);
    assert.equal(action.socket, 1, 'answered from the second address');
    const ra = out.slice(0, action.length);
    assert.equal(p.offer(ra, 0, ra.length, 3545, 1100), null, 'not from port 3544: not the probe');
    const done = p.offer(ra, 0, ra.length, 3544, 1100);
    assert.deepEqual(done, [
      {
        kind: 'classified',
        natType: 'symmetric-sequential',
        first: { ipv4: PUBLIC, port: 40007 },
        second: { ipv4: PUBLIC, port: 40008 },
      },
    ]);
    assert.equal(p.natType, 'symmetric-sequential');
    assert.equal(p.nextDeadlineMs(), Infinity);
    assert.equal(p.offer(ra, 0, ra.length, 3544, 1200), null, 'a replay goes on to qualification');
  });

  it('a silent second address: one retry, then unknown, within the stranger delay + tries × timeout', () => {
    const p = probe();
    p.start(LOCAL, { ipv4: PUBLIC, port: 40007 }, 0);
    const first = NAT_PROBE.strangerDelayMs;
    sendOf(p.timer(first));
    assert.deepEqual(p.timer(first + NAT_PROBE.timeoutMs - 1), []);
    sendOf(p.timer(first + NAT_PROBE.timeoutMs));
    const last = p.timer(first + NAT_PROBE.timeoutMs * NAT_PROBE.tries);
    assert.deepEqual(last, [
      { kind: 'classified', natType: 'unknown', first: { ipv4: PUBLIC, port: 40007 }, second: null },
    ]);
    assert.equal(p.nextDeadlineMs(), Infinity);
  });

  it("leaves qualification's RAs (another nonce) to qualification", () => {
    const p = probe();
    p.start(LOCAL, { ipv4: PUBLIC, port: 40007 }, 0);
    const other = createNatProbe({
      security,
      serverIPv4: SERVER,
      secondaryIPv4: SERVER,
      constants: TEREDO_CONSTANTS,
    });
    const rs = sendOf(other.start(LOCAL, { ipv4: PUBLIC, port: 40007 }, 0));
    const server = createServerProcessor({
      primaryIPv4: SERVER,
      secondaryIPv4: SECONDARY,
      prefix: 0x20010000,
      mtu: 1280,
      rsRateLimit: { perSecond: 0, burst: 0 },
      forwardRateLimit: { perSecond: 0, burst: 0 },
    });
    const out = new Uint8Array(256);
    const action = createServerAction();
    server.process(rs.datagram, 0, rs.datagram.length, PUBLIC, 40007, 0, 0, out, 0, action);
    assert.equal(p.offer(out, 0, action.length, 3544, 10), null);
  });
});
