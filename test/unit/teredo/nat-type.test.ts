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
import { serverParams } from './server-datagrams.js';
import {
  classifyNat,
  classifyStrangerTest,
  createNatProbe,
  NAT_PROBE,
  NAT_TYPES,
  portSurvivesStrangers,
} from '../../../src/teredo/nat-type.js';
import type { NatProbeAction } from '../../../src/teredo/nat-type.js';
import { createSecurityContext } from '../../../src/teredo/security.js';

const LOCAL = { ipv4: 0x0a000002, port: 20001 };
const PUBLIC = 0xcb007105;
const SERVER = 0xc6336401;
const SECONDARY = 0xc6336402;

/**
 * Our server's answer to an RS that reached its socket `arrived` (0 primary, 1 secondary) from
 * the NAT mapping `from`: the RA and the socket it leaves from.
 */
function ourServerAnswers(
  rs: Uint8Array,
  from: { ipv4: number; port: number },
  arrived: 0 | 1,
): { ra: Uint8Array; socket: number } {
  const server = createServerProcessor(serverParams({ primaryIPv4: SERVER, secondaryIPv4: SECONDARY }));
  const out = new Uint8Array(256);
  const action = createServerAction();
  server.process(rs, 0, rs.length, from.ipv4, from.port, arrived, 0, out, 0, action);
  assert.equal(action.kind, SERVER_ACTION_SEND_UDP);
  return { ra: out.slice(0, action.length), socket: action.socket };
}

describe('classifyNat', () => {
  it('tells apart what two server addresses can tell apart', () => {
    assert.equal(classifyNat(LOCAL, LOCAL, LOCAL), 'no-nat');
    const kept = { ipv4: PUBLIC, port: LOCAL.port };
    assert.equal(classifyNat(LOCAL, kept, kept), 'port-preserving', 'until the stranger test');
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

  it("sends an RS to the second address; our server's answer from it classifies", () => {
    const p = probe();
    const send = sendOf(p.start(LOCAL, { ipv4: PUBLIC, port: 40007 }, 1000));
    assert.deepEqual([send.ipv4, send.port], [SECONDARY, 3544]);
    assert.equal(send.via, 'service');
    // Our server, answering on its secondary socket, NAT mapping 203.0.113.5:40008.
    const { ra, socket } = ourServerAnswers(send.datagram, { ipv4: PUBLIC, port: 40008 }, 1);
    assert.equal(socket, 1, 'answered from the second address');
    assert.equal(p.offer(ra, 0, ra.length, 3545, 1100), null, 'not from port 3544: not the probe');
    const done = p.offer(ra, 0, ra.length, 3544, 1100);
    assert.deepEqual(done, [
      {
        kind: 'classified',
        natType: 'symmetric-sequential',
        first: { ipv4: PUBLIC, port: 40007 },
        second: { ipv4: PUBLIC, port: 40008 },
        afterStranger: null,
      },
    ]);
    assert.equal(p.natType, 'symmetric-sequential');
    assert.equal(p.nextDeadlineMs(), Infinity);
    assert.equal(p.offer(ra, 0, ra.length, 3544, 1200), null, 'a replay goes on to qualification');
  });

  it('a silent second address: one retry, then unknown, within tries × timeout', () => {
    const p = probe();
    p.start(LOCAL, { ipv4: PUBLIC, port: 40007 }, 0);
    assert.deepEqual(p.timer(NAT_PROBE.timeoutMs - 1), []);
    sendOf(p.timer(NAT_PROBE.timeoutMs));
    const last = p.timer(NAT_PROBE.timeoutMs * NAT_PROBE.tries);
    assert.deepEqual(last, [
      {
        kind: 'classified',
        natType: 'unknown',
        first: { ipv4: PUBLIC, port: 40007 },
        second: null,
        afterStranger: null,
      },
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
    const { ra } = ourServerAnswers(rs.datagram, { ipv4: PUBLIC, port: 40007 }, 0);
    assert.equal(p.offer(ra, 0, ra.length, 3544, 10), null);
  });
});

describe('the stranger test (a NAT that kept our port for both addresses)', () => {
  const security = createSecurityContext(new Uint8Array(16).fill(9), 43);
  const KEPT = { ipv4: PUBLIC, port: LOCAL.port };
  const Q_PORT = 50_001;
  const probe = () =>
    createNatProbe({ security, serverIPv4: SERVER, secondaryIPv4: SECONDARY, constants: TEREDO_CONSTANTS });
  const only = (actions: readonly NatProbeAction[], kind: NatProbeAction['kind']) => {
    assert.equal(actions.length, 1, JSON.stringify(actions.map((a) => a.kind)));
    const [action] = actions;
    assert.equal(action?.kind, kind);
    return action!;
  };

  /** Runs the probe to the stranger test's second RS; the first answer came `roundTripMs` after. */
  function toStrangerRs(roundTripMs: number) {
    const p = probe();
    const rs = only(p.start(LOCAL, KEPT, 0), 'send');
    assert.ok(rs.kind === 'send');
    const { ra } = ourServerAnswers(rs.datagram, KEPT, 1);
    const open = only(p.offer(ra, 0, ra.length, 3544, roundTripMs) ?? [], 'open-probe-socket');
    assert.deepEqual(open, { kind: 'open-probe-socket', localIPv4: LOCAL.ipv4 });
    assert.equal(p.natType, 'unknown', 'nothing classified yet');
    assert.equal(p.nextDeadlineMs(), Infinity, 'waits for the socket');
    const cone = only(p.probeSocketOpened(Q_PORT, roundTripMs), 'send');
    assert.ok(cone.kind === 'send');
    assert.deepEqual([cone.via, cone.ipv4, cone.port], ['probe', SERVER, 3544]);
    // Our server answers the cone RS from its second address: the stranger.
    assert.equal(ourServerAnswers(cone.datagram, { ipv4: PUBLIC, port: Q_PORT }, 0).socket, 1);
    const wait = p.nextDeadlineMs() - roundTripMs;
    assert.deepEqual(p.timer(roundTripMs + wait - 1), []);
    const second = only(p.timer(roundTripMs + wait), 'send');
    assert.ok(second.kind === 'send');
    assert.deepEqual([second.via, second.ipv4, second.port], ['probe', SECONDARY, 3544]);
    return { p, rs: second.datagram, at: roundTripMs + wait, wait };
  }

  it('waits four round trips of the first answer, within 300 ms and 2 s, before asking the stranger', () => {
    assert.equal(toStrangerRs(10).wait, NAT_PROBE.strangerWaitMinMs);
    assert.equal(toStrangerRs(200).wait, 800);
    assert.equal(toStrangerRs(900).wait, NAT_PROBE.strangerWaitMaxMs);
  });

  it('Q kept its port towards the stranger: cone-port-preserving, Q closed', () => {
    const { p, rs, at } = toStrangerRs(5);
    const { ra } = ourServerAnswers(rs, { ipv4: PUBLIC, port: Q_PORT }, 1);
    assert.deepEqual(p.offerProbeSocket(ra, 0, ra.length, 3544, at + 3), [
      { kind: 'close-probe-socket' },
      {
        kind: 'classified',
        natType: 'cone-port-preserving',
        first: KEPT,
        second: KEPT,
        afterStranger: { ipv4: PUBLIC, port: Q_PORT },
      },
    ]);
    assert.equal(p.natType, 'cone-port-preserving');
    assert.equal(portSurvivesStrangers(p.natType), true);
    assert.equal(p.nextDeadlineMs(), Infinity);
  });

  it('the stranger held the port, so Q got another: symmetric-port-preserving', () => {
    const { p, rs, at } = toStrangerRs(5);
    const { ra } = ourServerAnswers(rs, { ipv4: PUBLIC, port: 57_250 }, 1);
    const actions = p.offerProbeSocket(ra, 0, ra.length, 3544, at + 3);
    assert.deepEqual(
      actions.map((a) => a.kind),
      ['close-probe-socket', 'classified'],
    );
    assert.equal(p.natType, 'symmetric-port-preserving');
    assert.equal(portSurvivesStrangers(p.natType), false);
  });

  it("ignores what is not the answer: the cone RS's RA, a forged nonce, the service socket", () => {
    const { p, rs, at } = toStrangerRs(5);
    const rival = toStrangerRs(7);
    const forged = ourServerAnswers(rival.rs, { ipv4: PUBLIC, port: Q_PORT }, 1).ra;
    assert.deepEqual(p.offerProbeSocket(forged, 0, forged.length, 3544, at + 1), [], 'another nonce');
    const { ra } = ourServerAnswers(rs, { ipv4: PUBLIC, port: Q_PORT }, 1);
    assert.equal(p.offer(ra, 0, ra.length, 3544, at + 2), null, 'on the service socket: not taken');
    assert.deepEqual(p.offerProbeSocket(ra, 0, ra.length, 3545, at + 2), [], 'not from port 3544');
    assert.deepEqual(p.offerProbeSocket(new Uint8Array(3), 0, 3, 3544, at + 2), [], 'three bytes');
    assert.equal(p.natType, 'unknown');
    assert.equal(p.offerProbeSocket(ra, 0, ra.length, 3544, at + 3).length, 2, 'the answer still counts');
  });

  it('a silent stranger test: port-preserving after the tries, Q closed', () => {
    const { p, at } = toStrangerRs(5);
    only(p.timer(at + NAT_PROBE.timeoutMs), 'send');
    assert.deepEqual(p.timer(at + NAT_PROBE.timeoutMs * NAT_PROBE.tries), [
      { kind: 'close-probe-socket' },
      { kind: 'classified', natType: 'port-preserving', first: KEPT, second: KEPT, afterStranger: null },
    ]);
    assert.equal(portSurvivesStrangers('port-preserving'), false);
  });

  it('Q cannot be opened: port-preserving at once, nothing to close', () => {
    const p = probe();
    const rs = only(p.start(LOCAL, KEPT, 0), 'send');
    assert.ok(rs.kind === 'send');
    const { ra } = ourServerAnswers(rs.datagram, KEPT, 1);
    only(p.offer(ra, 0, ra.length, 3544, 4) ?? [], 'open-probe-socket');
    const done = only(p.probeSocketOpened(null, 5), 'classified');
    assert.ok(done.kind === 'classified');
    assert.equal(done.natType, 'port-preserving');
  });

  it('a new address or a stop during the test closes Q; a late socket is closed at once', () => {
    const { p } = toStrangerRs(5);
    const again = p.start(LOCAL, KEPT, 10_000);
    assert.deepEqual(
      again.map((a) => a.kind),
      ['close-probe-socket', 'send'],
    );
    assert.deepEqual(p.stop(), [], 'Q was already closed');
    const running = toStrangerRs(5).p;
    assert.deepEqual(running.stop(), [{ kind: 'close-probe-socket' }]);
    assert.equal(running.nextDeadlineMs(), Infinity);
    assert.deepEqual(running.probeSocketOpened(50_002, 20), [{ kind: 'close-probe-socket' }]);
    assert.deepEqual(running.probeSocketOpened(null, 20), []);
  });

  it('classifyStrangerTest and portSurvivesStrangers over every type', () => {
    assert.equal(classifyStrangerTest(KEPT, Q_PORT, null), 'port-preserving');
    assert.equal(classifyStrangerTest(KEPT, Q_PORT, { ipv4: PUBLIC, port: Q_PORT }), 'cone-port-preserving');
    assert.equal(
      classifyStrangerTest(KEPT, Q_PORT, { ipv4: PUBLIC + 1, port: Q_PORT }),
      'symmetric-port-preserving',
      'another address',
    );
    assert.deepEqual(
      NAT_TYPES.filter((type) => portSurvivesStrangers(type)),
      ['cone', 'cone-port-preserving'],
    );
  });
});
