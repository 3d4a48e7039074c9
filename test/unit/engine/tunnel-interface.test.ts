/** The client's interface configuration through helper requests (src/engine/tunnel-interface.ts). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decideHelperRequest } from '../../../src/bootstrap/helper-policy.js';
import type { HelperRequest, ReplyResult } from '../../../src/ipc/bootstrap-engine-messages.js';
import { createTunnelInterface } from '../../../src/engine/tunnel-interface.js';
import type { TunnelInterface } from '../../../src/engine/tunnel-interface.js';
import { formatIPv6 } from '../../../src/teredo/ipv6-text.js';
import { captureLog } from '../../support/fakes.js';
import { CLIENT_ADDRESS, PEER_ADDRESS, SERVER_IPV4 } from '../../support/tunnel-harness.js';
import { describeRequest } from '../../../src/engine/tunnel-interface.js';

const IFINDEX = 9;
const OURS = formatIPv6(CLIENT_ADDRESS);
/** An up after a down: the link asked for again (Miredo's hook takes it down), then what went. */
const AGAIN_AFTER_DOWN = [
  'link up',
  `set-address ${OURS}/32`,
  'set-route ::/0 metric 1029',
  `client-state up ${OURS} mtu 1280`,
];

interface Bench {
  readonly iface: TunnelInterface;
  readonly sent: HelperRequest[];
  readonly records: Array<Record<string, unknown>>;
  /** Answers every request with `answer(request)` until none is outstanding; returns their lines. */
  serve(answer?: (request: HelperRequest) => ReplyResult): string[];
}

function bench(): Bench {
  const sent: HelperRequest[] = [];
  const { log, records } = captureLog();
  const iface = createTunnelInterface({ ifindex: IFINDEX, send: (request) => sent.push(request), log });
  return {
    iface,
    sent,
    records,
    serve(answer = () => ({ ok: true })) {
      const lines: string[] = [];
      for (let request = sent.shift(); request !== undefined; request = sent.shift()) {
        assert.equal(request.ifindex, IFINDEX);
        lines.push(describeRequest(request));
        assert.equal(iface.reply({ type: 'reply', id: request.id, result: answer(request) }), true);
      }
      return lines;
    },
  };
}

describe('client interface requests', () => {
  it('configures MTU, link, link-local, address and default route, one request at a time', () => {
    const b = bench();
    b.iface.up(CLIENT_ADDRESS, 1400);
    assert.equal(b.sent.length, 1, 'the next request waits for the reply');
    assert.deepEqual(b.serve(), [
      'set-mtu 1400',
      'link up',
      'set-address fe80::ffff:ffff:ffff/64',
      `set-address ${OURS}/32`,
      'set-route ::/0 metric 1029',
      `client-state up ${OURS} mtu 1400`,
    ]);
    assert.deepEqual(b.iface.configured(), {
      linkUp: true,
      mtu: 1400,
      linkLocal: true,
      address: OURS,
      defaultRoute: true,
    });
  });

  it('asks only for what is allowed by the policy the bootstrap applies to a client', () => {
    const b = bench();
    b.iface.up(CLIENT_ADDRESS, 1400);
    const requests: HelperRequest[] = [];
    for (let request = b.sent.shift(); request !== undefined; request = b.sent.shift()) {
      requests.push(request);
      b.iface.reply({ type: 'reply', id: request.id, result: { ok: true } });
    }
    b.iface.down();
    for (let request = b.sent.shift(); request !== undefined; request = b.sent.shift()) {
      requests.push(request);
      b.iface.reply({ type: 'reply', id: request.id, result: { ok: true } });
    }
    for (const request of requests) {
      const decision = decideHelperRequest(request, {
        ifindex: IFINDEX,
        prefix: 0x20010000,
        serverIPv4: SERVER_IPV4,
      });
      assert.equal(
        decision.accept,
        true,
        `${describeRequest(request)}: ${decision.accept ? '' : decision.reason}`,
      );
    }
  });

  it('on a new address adds it before removing the old one; on a new MTU only sets the MTU', () => {
    const b = bench();
    b.iface.up(CLIENT_ADDRESS, 1280);
    b.serve();
    b.iface.up(CLIENT_ADDRESS, 1400);
    assert.deepEqual(b.serve(), ['set-mtu 1400', `client-state up ${OURS} mtu 1400`]);
    b.iface.up(PEER_ADDRESS, 1400);
    assert.deepEqual(b.serve(), [
      `set-address ${formatIPv6(PEER_ADDRESS)}/32`,
      `del-address ${OURS}/32`,
      `client-state up ${formatIPv6(PEER_ADDRESS)} mtu 1400`,
    ]);
    assert.equal(b.iface.configured().address, formatIPv6(PEER_ADDRESS));
  });

  it('on down removes the default route and the address, and keeps the link (asked for again on the next up)', () => {
    const b = bench();
    b.iface.up(CLIENT_ADDRESS, 1280);
    b.serve();
    b.iface.down();
    assert.deepEqual(b.serve(), [
      'del-route ::/0 metric 1029',
      `del-address ${OURS}/32`,
      'client-state down :: mtu 1280',
    ]);
    assert.deepEqual(b.iface.configured(), {
      linkUp: false,
      mtu: 1280,
      linkLocal: true,
      address: null,
      defaultRoute: false,
    });
    b.iface.down();
    assert.deepEqual(b.serve(), [], 'nothing left to remove, and the hook already knows');
    // Miredo's hook took the link down: without "link up" the route would fail (ENETDOWN).
    b.iface.up(CLIENT_ADDRESS, 1280);
    assert.deepEqual(b.serve(), AGAIN_AFTER_DOWN);
  });

  it('a refused or failed request is logged, counted, not assumed applied, and never undone', () => {
    const b = bench();
    b.iface.up(CLIENT_ADDRESS, 1280);
    const lines = b.serve((request) =>
      request.type === 'set-address' && request.prefixLen === 32
        ? { ok: false, kind: 'refused', reason: 'address outside the prefix' }
        : request.type === 'set-route'
          ? { ok: false, kind: 'failed', reason: 'EEXIST' }
          : { ok: true },
    );
    assert.equal(lines.length, 6, 'the sequence goes on after a refusal');
    assert.equal(b.iface.configured().address, null);
    assert.equal(b.iface.configured().defaultRoute, false);
    assert.deepEqual(b.iface.stats(), { sent: 6, refused: 1, failed: 1 });
    const errors = b.records
      .filter((record) => record['level'] === 50)
      .map((record) => String(record['msg']));
    assert.equal(errors.length, 2);
    assert.match(
      errors[0] ?? '',
      /Cannot configure the tunnel: set-address .*\/32 refused: address outside the prefix/,
    );
    assert.match(errors[1] ?? '', /set-route ::\/0 metric 1029 failed: EEXIST/);
    b.iface.down();
    assert.deepEqual(
      b.serve(),
      ['client-state down :: mtu 1280'],
      'nothing was applied, so nothing is removed',
    );
    // The next qualification asks again (the link too: the hook may have taken it down).
    b.iface.up(CLIENT_ADDRESS, 1280);
    assert.deepEqual(b.serve(), AGAIN_AFTER_DOWN);
  });

  it('a replaced address is removed even when its successor was refused', () => {
    const b = bench();
    b.iface.up(CLIENT_ADDRESS, 1280);
    b.serve();
    b.iface.up(PEER_ADDRESS, 1280);
    const lines = b.serve((request) =>
      request.type === 'set-address' ? { ok: false, kind: 'refused', reason: 'no' } : { ok: true },
    );
    assert.deepEqual(lines, [
      `set-address ${formatIPv6(PEER_ADDRESS)}/32`,
      `del-address ${OURS}/32`,
      `client-state up ${formatIPv6(PEER_ADDRESS)} mtu 1280`,
    ]);
    assert.equal(b.iface.configured().address, null);
  });

  it('ignores replies it is not waiting for, and settles when everything is answered', async () => {
    const b = bench();
    assert.equal(b.iface.reply({ type: 'reply', id: 77, result: { ok: true } }), false);
    await b.iface.settled(10);
    b.iface.up(CLIENT_ADDRESS, 1280);
    let settled = false;
    const done = b.iface.settled(60_000).then(() => {
      settled = true;
    });
    await Promise.resolve();
    assert.equal(settled, false);
    b.serve();
    await done;
    assert.equal(settled, true);
    b.iface.down();
    const started = Date.now();
    await b.iface.settled(30);
    assert.ok(Date.now() - started >= 25, 'gives up after the timeout when nobody answers');
  });
});
