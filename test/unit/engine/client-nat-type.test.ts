/**
 * The NAT type probe on the control plane (src/engine/client-nat-type.ts): the stranger test's
 * throwaway socket is opened only behind a NAT that kept our port, used for its two RSs, closed
 * after the verdict or on stop, and its verdict logged and handed on; a socket that cannot be
 * opened leaves the type undecided ('port-preserving') with a warning.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createClientNatType, NAT_TYPE_MESSAGES } from '../../../src/engine/client-nat-type.js';
import type { ProbeSocketOpener } from '../../../src/engine/probe-socket.js';
import type { UdpDatagram } from '../../../src/engine/udp-reader.js';
import { TEREDO_CONSTANTS } from '../../../src/teredo/constants.js';
import { isConeAt } from '../../../src/teredo/address.js';
import type { NatType } from '../../../src/teredo/nat-type.js';
import { createSecurityContext } from '../../../src/teredo/security.js';
import { captureLog } from '../../support/fakes.js';
import {
  FakeTime,
  MAPPED_IPV4,
  MAPPED_PORT,
  RecordingIo,
  routerAdvertisement,
  SERVER_IPV4,
  TEREDO_PORT,
} from '../../support/tunnel-harness.js';

const LOCAL_IPV4 = 0x0a000002;
const Q_PORT = 50_001;
/** The RS's IPv6 source address starts after the 13-byte authentication header and 8 bytes of IPv6 header. */
const RS_SOURCE = 13 + 8;

interface FakeSocket {
  readonly opened: number[];
  readonly sent: { bytes: Uint8Array; ipv4: number; port: number }[];
  closed: number;
  deliver?: UdpDatagram;
}

function bench(opens: 'ok' | 'fails' = 'ok') {
  const io = new RecordingIo();
  const time = new FakeTime();
  const { log, records } = captureLog();
  const found: NatType[] = [];
  const socket: FakeSocket = { opened: [], sent: [], closed: 0 };
  const openProbeSocket: ProbeSocketOpener = (localIPv4, onDatagram) => {
    socket.opened.push(localIPv4);
    if (opens === 'fails') return { socket: null, error: 'EADDRNOTAVAIL' };
    socket.deliver = onDatagram;
    return {
      socket: {
        port: Q_PORT,
        send(bytes, ipv4, port) {
          socket.sent.push({ bytes: bytes.slice(), ipv4, port });
          return true;
        },
        close() {
          socket.closed++;
        },
      },
    };
  };
  const natType = createClientNatType({
    serverIPv4: SERVER_IPV4,
    serverAddress2: null,
    security: createSecurityContext(new Uint8Array(16).fill(3), 77),
    constants: TEREDO_CONSTANTS,
    out: io,
    clock: time,
    timers: time,
    log,
    onClassified: (type) => found.push(type),
    openProbeSocket,
  });
  /** Starts the probe behind a NAT that keeps our port and answers its RS with the same mapping. */
  const toStrangerTest = (): void => {
    natType.start(
      { ipv4: LOCAL_IPV4, port: MAPPED_PORT },
      { ipv4: MAPPED_IPV4, port: MAPPED_PORT },
      time.now(),
    );
    const [rs] = io.take();
    assert.ok(rs?.kind === 'udp');
    assert.deepEqual([rs.ipv4, rs.port], [SERVER_IPV4 + 1, TEREDO_PORT]);
    const ra = routerAdvertisement(rs.bytes.slice(4, 12));
    assert.equal(natType.offer(ra, TEREDO_PORT, time.now()), true);
  };
  return { natType, io, time, records, found, socket, toStrangerTest };
}

describe('the NAT type probe on the control plane', () => {
  it('behind a NAT that kept our port: the stranger test from its own socket, then the verdict', () => {
    const b = bench();
    b.toStrangerTest();
    assert.deepEqual(b.socket.opened, [LOCAL_IPV4], 'Q bound to our address towards the server');
    assert.deepEqual(b.io.take(), [], 'nothing more from the Teredo socket');
    const [cone] = b.socket.sent;
    assert.ok(cone);
    assert.deepEqual([cone.ipv4, cone.port], [SERVER_IPV4, TEREDO_PORT]);
    assert.equal(isConeAt(cone.bytes, RS_SOURCE), true, 'the cone RS, answered by the second address');
    b.time.advance(299);
    assert.equal(b.socket.sent.length, 1);
    b.time.advance(1);
    const second = b.socket.sent[1];
    assert.ok(second);
    assert.deepEqual([second.ipv4, second.port], [SERVER_IPV4 + 1, TEREDO_PORT]);
    assert.equal(isConeAt(second.bytes, RS_SOURCE), false);
    const answer = routerAdvertisement(second.bytes.slice(4, 12), 1280, MAPPED_IPV4, Q_PORT + 7);
    b.socket.deliver?.(answer, 0, answer.length, SERVER_IPV4 + 1, TEREDO_PORT, LOCAL_IPV4);
    assert.deepEqual(b.found, ['symmetric-port-preserving']);
    assert.equal(b.natType.natType, 'symmetric-port-preserving');
    assert.equal(b.socket.closed, 1);
    const detected = b.records.find((record) => record['msg'] === NAT_TYPE_MESSAGES.detected);
    assert.equal(detected?.['strangerMappedPort'], Q_PORT + 7);
    assert.equal(b.time.pending(), 0, 'no timer left');
  });

  it('Q cannot be opened: a warning, and the type stays undecided', () => {
    const b = bench('fails');
    b.toStrangerTest();
    assert.deepEqual(b.found, ['port-preserving']);
    const warned = b.records.find((record) => record['msg'] === NAT_TYPE_MESSAGES.probeSocketFailed);
    assert.equal(warned?.['level'], 40, 'warning');
    assert.equal(warned?.['error'], 'EADDRNOTAVAIL');
    assert.equal(b.time.pending(), 0);
  });

  it('stop during the test closes Q and leaves no timer', () => {
    const b = bench();
    b.toStrangerTest();
    b.natType.stop();
    assert.equal(b.socket.closed, 1);
    assert.equal(b.time.pending(), 0);
    b.time.advance(10_000);
    assert.equal(b.socket.sent.length, 1, 'no RS after stop');
    assert.deepEqual(b.found, []);
  });
});
