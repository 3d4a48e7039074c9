/** miredo-ctl's text output (src/cli/ctl-format.ts): a client's native peers and their relays. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatPeers, formatStatus } from '../../../src/cli/ctl-format.js';
import type { ControlStatus } from '../../../src/ipc/control-protocol.js';

const CLIENT: ControlStatus = {
  role: 'client',
  enginePid: 42,
  uptimeSeconds: 12,
  workers: 1,
  interface: 'teredo',
  address: '2001:0:c633:6401:0:f227:9c9b:fbfe',
  qualified: true,
  natType: 'cone-port-preserving',
  mapping: '203.0.113.1:3544',
  qualificationSeconds: 0.5,
  qualifiedForSeconds: 10,
  mtu: 1280,
  prefix: '2001::/32',
  servers: [{ address: '198.51.100.1', lastAnswerSecondsAgo: 3 }],
  peerTable: { peers: 3, capacity: 1024, queuedPackets: 0, queuedBytes: 0 },
  nativePeers: {
    matched: 3,
    peers: [
      { address: '2001:db8:1::2', relay: '198.51.100.3:3544' },
      { address: '2001:db8:2::2', relay: null },
    ],
  },
};

test('status lists each native peer with its relay, and says how many were left out', () => {
  const text = formatStatus(CLIENT);
  assert.match(text, /^Native peers: +3, 2 shown$/m);
  assert.match(text, /^Native peer: +2001:db8:1::2 via 198\.51\.100\.3:3544$/m);
  assert.match(text, /^Native peer: +2001:db8:2::2 via a relay not known yet$/m);
  assert.match(text, /^Address: +2001:0:c633:6401:0:f227:9c9b:fbfe$/m);
});

test('no native peer line for a relay or a server (null), a count of 0 for a client without any', () => {
  assert.doesNotMatch(formatStatus({ ...CLIENT, role: 'relay', nativePeers: null }), /Native/);
  const none = formatStatus({ ...CLIENT, nativePeers: { matched: 0, peers: [] } });
  assert.match(none, /^Native peers: +0$/m);
  assert.doesNotMatch(none, /^Native peer:/m);
});

test('the server line says which configured name is in use, and when it is a fallback', () => {
  const server = (entry: ControlStatus['servers'][number]) =>
    /^Server: +(.*)$/m.exec(formatStatus({ ...CLIENT, servers: [entry] }))?.[1];
  const base = { address: '198.51.100.5', lastAnswerSecondsAgo: 3 };
  assert.equal(server(base), '198.51.100.5 (last answer 3 s ago)');
  assert.equal(
    server({ ...base, name: '198.51.100.5', fallback: false }),
    '198.51.100.5 (last answer 3 s ago)',
  );
  assert.equal(
    server({ ...base, name: 'teredo.example', fallback: false }),
    '198.51.100.5 (teredo.example, last answer 3 s ago)',
  );
  assert.equal(
    server({ ...base, name: 'backup.example', fallback: true }),
    '198.51.100.5 (fallback backup.example, last answer 3 s ago)',
  );
  assert.equal(
    server({ ...base, name: '198.51.100.5', fallback: true }),
    '198.51.100.5 (fallback, last answer 3 s ago)',
  );
});

test('a native peer with an alternate relay: in the status and in the peers table', () => {
  const status: ControlStatus = {
    ...CLIENT,
    nativePeers: {
      matched: 1,
      peers: [{ address: '2001:db8:1::2', relay: '198.51.100.3:3544', alternate: '198.51.100.4:3544' }],
    },
  };
  assert.match(
    formatStatus(status),
    /^Native peer: +2001:db8:1::2 via 198\.51\.100\.3:3544 \(alternate 198\.51\.100\.4:3544\)$/m,
  );
  const row = {
    mapping: '198.51.100.3:3544',
    trusted: true,
    proven: true,
    solicited: true,
    queued: false,
    lastInSecondsAgo: 1,
    lastOutSecondsAgo: 2,
  };
  const text = formatPeers({
    total: 2,
    matched: 2,
    peers: [
      { ...row, address: '2001:db8:1::2', alternate: '198.51.100.4:3544' },
      { ...row, address: '2001:0:c633:6401::1', alternate: null },
    ],
  });
  assert.match(text, /^ADDRESS +MAPPING +ALTERNATE +FLAGS +LAST-IN +LAST-OUT$/m);
  assert.match(
    text,
    /^2001:db8:1::2 +198\.51\.100\.3:3544 +198\.51\.100\.4:3544 +trusted,proven,solicited +1 s ago/m,
  );
  assert.match(text, /^2001:0:c633:6401::1 +198\.51\.100\.3:3544 +- +trusted/m);
});
