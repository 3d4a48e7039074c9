import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatIPv6 } from '../../../src/teredo/address.js';
import { defineConstants } from '../../../src/teredo/constants.js';
import {
  buildRouterAdvertisement,
  buildRouterSolicitation,
  ROUTER_SOLICITATION_DATAGRAM_BYTES,
} from '../../../src/teredo/icmpv6.js';
import type { RouterAdvertisementFields } from '../../../src/teredo/icmpv6.js';
import {
  createQualification,
  QUALIFICATION_IGNORE_REASONS,
  QUALIFICATION_MESSAGES,
  QUALIFICATION_PASS_REASONS,
} from '../../../src/teredo/qualification.js';
import type {
  Qualification,
  QualificationAction,
  QualificationIgnoreReason,
  QualificationOptions,
} from '../../../src/teredo/qualification.js';
import { createSecurityContext, flagBits, nonce } from '../../../src/teredo/security.js';
import { address, CONE_LL, hexOf, MAPPED_IPV4, MAPPED_PORT, RESTRICTED_LL, SERVER_IPV4 } from './fixtures.js';

const SECURITY = createSecurityContext(
  Uint8Array.from({ length: 16 }, (_, i) => i),
  0x1234,
);
const T0 = 1_000_000;
const SECOND = 1000;
/** All twelve random flag bits set: flags 0x3cff. */
const ALL_RANDOM_BITS = (): number => 0xffff;
/** 198.51.100.1 serving 203.0.113.5:40000 with flags 0x3cff. */
const EXPECTED_ADDRESS = '2001:0:c633:6401:3cff:63bf:34ff:8efa';

type Send = Extract<QualificationAction, { kind: 'send' }>;
type Up = Extract<QualificationAction, { kind: 'up' }>;
type Down = Extract<QualificationAction, { kind: 'down' }>;

function machine(overrides: Partial<QualificationOptions> = {}): Qualification {
  return createQualification({
    security: SECURITY,
    serverIPv4: SERVER_IPV4,
    randomFlagBits: ALL_RANDOM_BITS,
    ...overrides,
  });
}

function kinds(actions: readonly QualificationAction[] | null): string[] {
  assert.ok(actions !== null, 'expected the datagram to be consumed');
  return actions.map((action) => (action.kind === 'log' ? `log:${action.message}` : action.kind));
}

function only<K extends QualificationAction['kind']>(
  actions: readonly QualificationAction[] | null,
  kind: K,
): Extract<QualificationAction, { kind: K }> {
  assert.ok(actions !== null, 'expected the datagram to be consumed');
  const found = actions.filter(
    (action): action is Extract<QualificationAction, { kind: K }> => action.kind === kind,
  );
  assert.equal(found.length, 1, `expected one '${kind}' action in ${JSON.stringify(kinds(actions))}`);
  return found[0]!;
}

/** The nonce an RS carries (bytes 4..11 of its authentication header). */
function nonceOf(send: Send): Uint8Array {
  return send.datagram.slice(4, 12);
}

function expectedRs(timestamp: number): Uint8Array {
  const out = new Uint8Array(ROUTER_SOLICITATION_DATAGRAM_BYTES);
  buildRouterSolicitation(out, 0, { nonce: nonce(SECURITY, timestamp, SERVER_IPV4, 3544) });
  return out;
}

function ra(send: Send, fields: Partial<RouterAdvertisementFields> = {}): Uint8Array {
  const out = new Uint8Array(256);
  const length = buildRouterAdvertisement(out, 0, {
    nonce: nonceOf(send),
    originPort: MAPPED_PORT,
    originIPv4: MAPPED_IPV4,
    destination: RESTRICTED_LL,
    serverIPv4: SERVER_IPV4,
    ...fields,
  });
  return out.slice(0, length);
}

function offer(q: Qualification, datagram: Uint8Array, now: number, port = 3544, ipv4 = SERVER_IPV4) {
  return q.offer(datagram, 0, datagram.length, ipv4, port, now);
}

/** Starts at T0 and answers the first RS at T0 + 100 ms. */
function qualified(overrides: Partial<QualificationOptions> = {}): { q: Qualification; up: Up; rs: Send } {
  const q = machine(overrides);
  const rs = only(q.start(T0), 'send');
  const up = only(offer(q, ra(rs), T0 + 100), 'up');
  return { q, up, rs };
}

test('start sends one RS to server:3544, byte-identical to the builder with the nonce of the reply deadline', () => {
  const q = machine();
  const actions = q.start(T0);
  assert.deepEqual(kinds(actions), ['send']);
  const rs = only(actions, 'send');
  assert.equal(rs.ipv4, SERVER_IPV4);
  assert.equal(rs.port, 3544);
  assert.equal(rs.datagram.length, 61);
  // Miredo hashes the deadline (now + 4 s) in seconds.
  assert.equal(hexOf(rs.datagram), hexOf(expectedRs((T0 + 4 * SECOND) / SECOND)));
  assert.equal(q.nextDeadlineMs(), T0 + 4 * SECOND);
  assert.deepEqual(q.state, {
    up: false,
    address: null,
    mtu: 0,
    mappedIPv4: 0,
    mappedPort: 0,
    serverIPv4: SERVER_IPV4,
    solicitations: 1,
  });
  assert.throws(() => q.start(T0), /already started/);
});

test('before start nothing is due and timers do nothing', () => {
  const q = machine();
  assert.equal(q.nextDeadlineMs(), Number.POSITIVE_INFINITY);
  assert.deepEqual(q.timer(T0), []);
  assert.equal(q.counters.solicitationsSent, 0);
});

test('RSs at 0, 4 and 8 s with fresh nonces, then "No reply" and the next round 20 s after the last RS', () => {
  const q = machine();
  const first = only(q.start(T0), 'send');
  assert.deepEqual(q.timer(T0 + 3999), [], 'nothing before the deadline');

  const second = only(q.timer(T0 + 4 * SECOND), 'send');
  assert.equal(hexOf(second.datagram), hexOf(expectedRs(T0 / SECOND + 8)));
  assert.equal(q.nextDeadlineMs(), T0 + 8 * SECOND);
  assert.equal(q.state.solicitations, 2);
  const third = only(q.timer(T0 + 8 * SECOND), 'send');
  assert.equal(hexOf(third.datagram), hexOf(expectedRs(T0 / SECOND + 12)));
  assert.equal(new Set([first, second, third].map((rs) => hexOf(nonceOf(rs)))).size, 3);

  const failed = q.timer(T0 + 12 * SECOND);
  assert.deepEqual(kinds(failed), [`log:${QUALIFICATION_MESSAGES.noReply}`]);
  assert.deepEqual(failed[0], { kind: 'log', level: 'info', message: 'No reply from Teredo server' });
  assert.equal(q.state.up, false);
  assert.equal(q.state.solicitations, 0);
  assert.equal(q.nextDeadlineMs(), T0 + 28 * SECOND);
  assert.deepEqual(q.timer(T0 + 27 * SECOND), []);

  const restart = only(q.timer(T0 + 28 * SECOND), 'send');
  assert.equal(hexOf(restart.datagram), hexOf(expectedRs(T0 / SECOND + 32)));
  assert.equal(q.state.solicitations, 1);
  assert.equal(q.counters.solicitationsSent, 4);
  assert.equal(q.counters.roundsFailed, 1);
});

test('a late RA for an earlier RS of the round is ignored: only the pending nonce counts', () => {
  const q = machine();
  const first = only(q.start(T0), 'send');
  only(q.timer(T0 + 4 * SECOND), 'send');
  assert.deepEqual(offer(q, ra(first), T0 + 4500), []);
  assert.equal(q.counters.ignored['wrong-nonce'], 1);
  assert.equal(q.state.up, false);
});

test('"No reply from Teredo server" is logged once per outage', () => {
  const q = machine();
  q.start(T0);
  const logsUntil = (end: number): string[] => {
    const logs: string[] = [];
    while (q.nextDeadlineMs() <= end) {
      for (const action of q.timer(q.nextDeadlineMs())) if (action.kind === 'log') logs.push(action.message);
    }
    return logs;
  };
  assert.deepEqual(logsUntil(T0 + 90 * SECOND), ['No reply from Teredo server']);
  assert.equal(q.counters.roundsFailed, 3);

  const rs = only(q.timer(q.nextDeadlineMs()), 'send');
  only(offer(q, ra(rs), q.nextDeadlineMs() - 3000), 'up');
  const logs = logsUntil(q.nextDeadlineMs() + 20 * SECOND);
  assert.deepEqual(logs, ['No reply from Teredo server', 'Lost Teredo connectivity']);
});

test('a valid RA brings the client up with prefix, server, random flags, ~port and ~IPv4', () => {
  const q = machine();
  const rs = only(q.start(T0), 'send');
  const actions = offer(q, ra(rs), T0 + 100);
  assert.deepEqual(kinds(actions), [`log:${QUALIFICATION_MESSAGES.newAddress}`, 'up']);
  assert.deepEqual(actions?.[0], { kind: 'log', level: 'notice', message: 'New Teredo address/MTU' });
  const up = only(actions, 'up');
  assert.equal(formatIPv6(up.address), EXPECTED_ADDRESS);
  assert.deepEqual(up.address, address(EXPECTED_ADDRESS));
  assert.equal(up.mtu, 1280);
  assert.equal(up.previous, null);

  const state = q.state;
  assert.equal(state.up, true);
  assert.deepEqual(state.address, address(EXPECTED_ADDRESS));
  assert.equal(state.mtu, 1280);
  assert.equal(state.mappedIPv4, MAPPED_IPV4);
  assert.equal(state.mappedPort, MAPPED_PORT);
  assert.equal(state.solicitations, 0);
  assert.equal(q.counters.advertisementsAccepted, 1);
  // Refresh 20 s after the RS, not after the RA.
  assert.equal(q.nextDeadlineMs(), T0 + 20 * SECOND);
});

test('without a test source the flags come from security.flagBits of the RS timestamp, masked by 0x3cff', () => {
  const q = createQualification({ security: SECURITY, serverIPv4: SERVER_IPV4 });
  const rs = only(q.start(T0), 'send');
  const up = only(offer(q, ra(rs), T0 + 100), 'up');
  const flags = (up.address[8]! << 8) | up.address[9]!;
  assert.equal(flags, flagBits(SECURITY, T0 / SECOND + 4) & 0x3cff);
  assert.equal(flags & 0xc300, 0, 'cone, R, U and G bits stay zero');
});

test('the actions and the state hand out copies of the address', () => {
  const { q, up } = qualified();
  up.address.fill(0);
  const state = q.state;
  state.address?.fill(0);
  assert.equal(formatIPv6(q.state.address ?? new Uint8Array(16)), EXPECTED_ADDRESS);
});

test('the answered nonce is spent: a replayed RA is consumed and ignored', () => {
  const { q, rs } = qualified();
  assert.deepEqual(offer(q, ra(rs), T0 + 200), []);
  assert.equal(q.counters.ignored['not-soliciting'], 1);
  assert.equal(q.counters.advertisementsAccepted, 1);
});

test('refresh RS every 20 s, answers with the same mapping and MTU change nothing', () => {
  const draws: number[] = [];
  const { q, up } = qualified({
    randomFlagBits: (ts) => {
      draws.push(ts);
      return 0xffff;
    },
  });
  for (let round = 1; round <= 5; round++) {
    const due = T0 + round * 20 * SECOND;
    assert.equal(q.nextDeadlineMs(), due);
    assert.deepEqual(q.timer(due - 1), []);
    const rs = only(q.timer(due), 'send');
    assert.equal(hexOf(rs.datagram), hexOf(expectedRs(due / SECOND + 4)));
    // Even a late answer (3.5 s) keeps the schedule anchored on the RS.
    assert.deepEqual(offer(q, ra(rs), due + 3500), []);
    assert.deepEqual(q.state.address, up.address);
  }
  assert.deepEqual(draws, [T0 / SECOND + 4], 'flags drawn once, kept while the mapping is unchanged');
});

test('the refresh interval is an option and a constant', () => {
  const fromOption = qualified({ refreshIntervalMs: 25_000 }).q;
  assert.equal(fromOption.nextDeadlineMs(), T0 + 25_000);
  const fromConstants = qualified({ constants: defineConstants({ clientRefreshIntervalMs: 30_000 }) }).q;
  assert.equal(fromConstants.nextDeadlineMs(), T0 + 30_000);
  assert.throws(() => machine({ refreshIntervalMs: 0 }), RangeError);
  assert.throws(() => machine({ serverIPv4: -1 }), RangeError);
});

test('a new mapping gives a new address with new random flags, reporting the old one', () => {
  const bits = [0x0001, 0x0203];
  const { q, up } = qualified({ randomFlagBits: () => bits.shift() ?? 0 });
  assert.equal(formatIPv6(up.address), '2001:0:c633:6401:1:63bf:34ff:8efa');

  const rs = only(q.timer(T0 + 20 * SECOND), 'send');
  const actions = offer(q, ra(rs, { originIPv4: 0xcb007106, originPort: 40001 }), T0 + 20_100);
  assert.deepEqual(kinds(actions), ['log:New Teredo address/MTU', 'up']);
  const moved = only(actions, 'up');
  // 203.0.113.6:40001, flags 0x0203 & 0x3cff = 0x0003.
  assert.equal(formatIPv6(moved.address), '2001:0:c633:6401:3:63be:34ff:8ef9');
  assert.deepEqual(moved.previous, up.address);
  assert.equal(moved.mtu, 1280);
  assert.equal(q.state.mappedIPv4, 0xcb007106);
  assert.equal(q.state.mappedPort, 40001);
});

test('an MTU change alone is an up with the same address and nothing to remove', () => {
  const { q, up } = qualified();
  const rs = only(q.timer(T0 + 20 * SECOND), 'send');
  const changed = only(offer(q, ra(rs, { mtu: 1400 }), T0 + 20_100), 'up');
  assert.deepEqual(changed.address, up.address);
  assert.equal(changed.mtu, 1400);
  assert.equal(changed.previous, null);
  assert.equal(q.state.mtu, 1400);
});

test('losing the server while up: retries, "Lost Teredo connectivity", down, then recovery with new flags', () => {
  const bits = [0x0011, 0x0022];
  const { q, up } = qualified({ randomFlagBits: () => bits.shift() ?? 0 });
  only(q.timer(T0 + 20 * SECOND), 'send');
  only(q.timer(T0 + 24 * SECOND), 'send');
  only(q.timer(T0 + 28 * SECOND), 'send');
  assert.equal(q.state.up, true, 'still up while retrying');

  const lost = q.timer(T0 + 32 * SECOND);
  assert.deepEqual(kinds(lost), ['log:No reply from Teredo server', 'log:Lost Teredo connectivity', 'down']);
  assert.deepEqual(lost[1], { kind: 'log', level: 'notice', message: 'Lost Teredo connectivity' });
  const down: Down = only(lost, 'down');
  assert.deepEqual(down.previous, up.address);
  assert.equal(q.state.up, false);
  assert.equal(q.state.address, null);
  assert.equal(q.state.mtu, 0);
  assert.equal(q.nextDeadlineMs(), T0 + 48 * SECOND);

  const rs = only(q.timer(T0 + 48 * SECOND), 'send');
  const back = only(offer(q, ra(rs), T0 + 48_100), 'up');
  assert.equal(back.previous, null, 'the old address was removed by the down');
  assert.equal(formatIPv6(back.address), '2001:0:c633:6401:22:63bf:34ff:8efa');
  assert.equal(q.nextDeadlineMs(), T0 + 68 * SECOND);
});

test('a timer far past its deadline resynchronises: "Too much time drift", next deadline from now', () => {
  const { q } = qualified();
  const late = T0 + 20 * SECOND + 60 * SECOND;
  const actions = q.timer(late);
  assert.deepEqual(kinds(actions), ['log:Too much time drift. Resynchronizing.', 'send']);
  assert.equal((actions[0] as { level: string }).level, 'warning');
  assert.equal(hexOf(only(actions, 'send').datagram), hexOf(expectedRs(late / SECOND + 4)));
  assert.equal(q.nextDeadlineMs(), late + 4 * SECOND);
  // A slightly late timer (within T) keeps the schedule.
  assert.deepEqual(kinds(q.timer(late + 7 * SECOND)), ['send']);
  assert.equal(q.nextDeadlineMs(), late + 8 * SECOND);
});

test('nonces stay fresh when attempts fall within one second (shortened test timers)', () => {
  const q = machine({ constants: defineConstants({ qualificationTimeoutMs: 10, restartDelayMs: 50 }) });
  const nonces = new Set<string>();
  for (const action of q.start(T0)) if (action.kind === 'send') nonces.add(hexOf(nonceOf(action)));
  let sends = 1;
  while (sends < 12) {
    for (const action of q.timer(q.nextDeadlineMs())) {
      if (action.kind === 'send') {
        nonces.add(hexOf(nonceOf(action)));
        sends++;
      }
    }
  }
  assert.equal(nonces.size, sends);
});

test('the obsolete 3ffe:831f prefix is rewritten to 2001:0000', () => {
  const q = machine();
  const rs = only(q.start(T0), 'send');
  const up = only(offer(q, ra(rs, { prefix: 0x3ffe831f }), T0 + 100), 'up');
  assert.equal(formatIPv6(up.address), EXPECTED_ADDRESS);
});

test('an RA for another prefix than 2001:0::/32 is ignored, counted, and logged once per RS', () => {
  const q = machine();
  const rs = only(q.start(T0), 'send');
  const warning = { kind: 'log', level: 'warning', message: QUALIFICATION_MESSAGES.foreignPrefix };
  for (const prefix of [0x2a001450, 0x20010db8, 0x20010001, 0x20000000]) {
    const actions = offer(q, ra(rs, { prefix }), T0 + 50);
    assert.deepEqual(actions, prefix === 0x2a001450 ? [warning] : [], prefix.toString(16));
  }
  assert.equal(q.counters.ignored['wrong-prefix'], 4);
  assert.equal(q.state.up, false);
  assert.equal(q.nextDeadlineMs(), T0 + 4 * SECOND, 'the schedule is untouched');
  // The next RS may log it again; the standard prefix still qualifies.
  const next = only(q.timer(T0 + 4 * SECOND), 'send');
  assert.deepEqual(offer(q, ra(next, { prefix: 0x2a001450 }), T0 + 4 * SECOND + 50), [warning]);
  const up = only(offer(q, ra(next), T0 + 4 * SECOND + 100), 'up');
  assert.equal(formatIPv6(up.address).startsWith('2001:0:'), true);
});

test('an RA for another prefix does not move a qualified client', () => {
  const { q, up } = qualified();
  const refresh = only(q.timer(q.nextDeadlineMs()), 'send');
  assert.deepEqual(kinds(offer(q, ra(refresh, { prefix: 0x2a001450 }), q.nextDeadlineMs() - 1)), [
    `log:${QUALIFICATION_MESSAGES.foreignPrefix}`,
  ]);
  assert.deepEqual(q.state.address, up.address);
});

test('the RA may come from any IPv4 with source port 3544 (as Miredo; the nonce authenticates it)', () => {
  const q = machine();
  const rs = only(q.start(T0), 'send');
  only(offer(q, ra(rs), T0 + 100, 3544, 0xc0000201), 'up');
});

// Positions in a 117-byte RA: auth 0..12, origin 13..20, IPv6 21..60, RA 61..76, prefix option 77..108.
const ICMP_TYPE = 61;
const PREFIX_LENGTH = 79;
const NONCE_BYTE = 4;
const CONFIRMATION = 12;

function patched(datagram: Uint8Array, at: number, value: number): Uint8Array {
  const copy = datagram.slice();
  copy[at] = value;
  return copy;
}

function withoutOrigin(datagram: Uint8Array): Uint8Array {
  return Uint8Array.from([...datagram.subarray(0, 13), ...datagram.subarray(21)]);
}

const IGNORED: ReadonlyArray<{
  readonly reason: QualificationIgnoreReason;
  readonly datagram: (rs: Send) => Uint8Array;
  readonly logs?: string;
}> = [
  { reason: 'wrong-nonce', datagram: (rs) => patched(ra(rs), NONCE_BYTE, ra(rs)[NONCE_BYTE]! ^ 1) },
  {
    reason: 'auth-failed',
    datagram: (rs) => patched(ra(rs), CONFIRMATION, 1),
    logs: 'Authentication with server failed.',
  },
  { reason: 'no-origin', datagram: (rs) => withoutOrigin(ra(rs)) },
  { reason: 'no-origin', datagram: (rs) => ra(rs, { originIPv4: 0 }) },
  { reason: 'bad-prefix-length', datagram: (rs) => patched(ra(rs), PREFIX_LENGTH, 48) },
  { reason: 'multicast-prefix', datagram: (rs) => ra(rs, { prefix: 0xff0e0000 }) },
  { reason: 'wrong-server', datagram: (rs) => ra(rs, { serverIPv4: 0xc6336402 }) },
  { reason: 'not-router-advertisement', datagram: (rs) => patched(ra(rs), ICMP_TYPE, 128) },
  { reason: 'bad-mtu', datagram: (rs) => ra(rs, { mtu: 1279 }) },
];

for (const { reason, datagram, logs } of IGNORED) {
  test(`a consumed datagram with ${reason} is ignored and counted; the real RA still qualifies`, () => {
    const q = machine();
    const rs = only(q.start(T0), 'send');
    const actions = offer(q, datagram(rs), T0 + 50);
    assert.ok(actions !== null, 'consumed: from 3544, with auth, to our link-local');
    if (logs === undefined) {
      assert.deepEqual(actions, []);
    } else {
      assert.deepEqual(actions, [{ kind: 'log', level: 'error', message: logs }]);
    }
    assert.ok(q.counters.ignored[reason] >= 1);
    const total = Object.values(q.counters.ignored).reduce((a, b) => a + b, 0);
    assert.equal(total, 1);
    assert.equal(q.state.up, false);
    assert.equal(q.nextDeadlineMs(), T0 + 4 * SECOND, 'the schedule is untouched');
    only(offer(q, ra(rs), T0 + 100), 'up');
  });
}

test('a second prefix option is ignored with "Multiple Teredo prefixes received"', () => {
  const q = machine();
  const rs = only(q.start(T0), 'send');
  const datagram = ra(rs);
  // Turn the MTU option (109..116) into the start of a second, 32-byte prefix option.
  const twoPrefixes = new Uint8Array(datagram.length + 24);
  twoPrefixes.set(datagram);
  twoPrefixes.set(datagram.subarray(77, 109), 109);
  twoPrefixes[21 + 5] = 56 + 24; // IPv6 payload length
  const actions = offer(q, twoPrefixes, T0 + 50);
  assert.deepEqual(actions, [
    { kind: 'log', level: 'warning', message: 'Multiple Teredo prefixes received' },
  ]);
  assert.equal(q.counters.ignored['multiple-prefixes'], 1);
});

test('datagrams that are not qualification are handed back (null) with a counted reason', () => {
  const q = machine();
  const rs = only(q.start(T0), 'send');
  const noAuth = (() => {
    const out = new Uint8Array(256);
    return out.slice(
      0,
      buildRouterAdvertisement(out, 0, {
        originPort: MAPPED_PORT,
        originIPv4: MAPPED_IPV4,
        destination: RESTRICTED_LL,
        serverIPv4: SERVER_IPV4,
      }),
    );
  })();
  assert.equal(offer(q, ra(rs), T0 + 10, 3545), null);
  assert.equal(offer(q, noAuth, T0 + 10), null);
  assert.equal(offer(q, ra(rs, { destination: CONE_LL }), T0 + 10), null);
  assert.equal(offer(q, Uint8Array.of(0, 1, 0), T0 + 10), null);
  assert.equal(offer(q, ra(rs).subarray(0, 60), T0 + 10), null, 'IPv6 header truncated');
  assert.deepEqual(q.counters.passed, {
    'invalid-payload': 2,
    'not-from-server-port': 1,
    'no-auth': 1,
    'not-to-client-link-local': 1,
  });
  assert.equal(q.state.up, false);
  only(offer(q, ra(rs), T0 + 100), 'up');
});

test('offer honours offset and length within a larger receive buffer', () => {
  const q = machine();
  const rs = only(q.start(T0), 'send');
  const datagram = ra(rs);
  const buffer = new Uint8Array(500).fill(0xee);
  buffer.set(datagram, 123);
  assert.equal(q.offer(buffer, 123, 40, SERVER_IPV4, 3544, T0 + 10), null, 'cut short');
  only(q.offer(buffer, 123, datagram.length, SERVER_IPV4, 3544, T0 + 20), 'up');
});

test('the reason lists cover every counter key', () => {
  const q = machine();
  assert.deepEqual(Object.keys(q.counters.passed).sort(), [...QUALIFICATION_PASS_REASONS].sort());
  assert.deepEqual(Object.keys(q.counters.ignored).sort(), [...QUALIFICATION_IGNORE_REASONS].sort());
  assert.equal(new Set(QUALIFICATION_IGNORE_REASONS).size, QUALIFICATION_IGNORE_REASONS.length);
});

test('requalify sends an RS at once; the same mapping keeps the address (no up, no down), the next refresh follows it', () => {
  const { q, up } = qualified();
  const at = T0 + 7 * SECOND;
  const rs = only(q.requalify(at), 'send');
  assert.equal(hexOf(rs.datagram), hexOf(expectedRs(at / SECOND + 4)));
  assert.deepEqual(q.requalify(at + 10), [], 'no second RS within a second of the last');
  assert.deepEqual(offer(q, ra(rs), at + 50), [], 'same address and MTU: nothing to do');
  assert.deepEqual(q.state.address, up.address);
  assert.equal(q.nextDeadlineMs(), at + 20 * SECOND);
});

test('requalify with a new mapping replaces the address; unanswered, it goes down like a refresh', () => {
  const moved = qualified();
  const rs = only(moved.q.requalify(T0 + 5 * SECOND), 'send');
  const next = only(offer(moved.q, ra(rs, { originPort: 40001 }), T0 + 5_100), 'up');
  assert.deepEqual(next.previous, moved.up.address);

  const { q, up } = qualified();
  only(q.requalify(T0 + 5 * SECOND), 'send');
  only(q.timer(T0 + 9 * SECOND), 'send');
  only(q.timer(T0 + 13 * SECOND), 'send');
  const down = only(q.timer(T0 + 17 * SECOND), 'down');
  assert.deepEqual(down.previous, up.address);
});

test('requalify before start, or after a failed round, behaves: nothing, then a round at once', () => {
  const q = machine();
  assert.deepEqual(q.requalify(T0), []);
  only(q.start(T0), 'send');
  only(q.timer(T0 + 4 * SECOND), 'send');
  only(q.timer(T0 + 8 * SECOND), 'send');
  q.timer(T0 + 12 * SECOND);
  assert.equal(q.nextDeadlineMs(), T0 + 28 * SECOND, 'resting until the restart delay');
  only(q.requalify(T0 + 20 * SECOND), 'send');
  assert.equal(q.nextDeadlineMs(), T0 + 24 * SECOND);
});

test('a network change late in a round starts it afresh: an uplink back after 10 s keeps the address', () => {
  const { q, up } = qualified();
  only(q.requalify(T0 + 3 * SECOND), 'send'); // the link goes down: these RSs go nowhere
  only(q.timer(T0 + 7 * SECOND), 'send');
  only(q.timer(T0 + 11 * SECOND), 'send');
  const rs = only(q.requalify(T0 + 13 * SECOND), 'send'); // the link is back
  assert.deepEqual(q.timer(T0 + 15 * SECOND), [], 'the round was not given up');
  assert.deepEqual(offer(q, ra(rs), T0 + 13_050), [], 'same mapping: no flap');
  assert.deepEqual(q.state.address, up.address);
  assert.equal(q.nextDeadlineMs(), T0 + 33 * SECOND);
});

test('a round started afresh and left unanswered still goes down, three RSs after the change', () => {
  const { q, up } = qualified();
  only(q.requalify(T0 + 3 * SECOND), 'send');
  assert.deepEqual(q.requalify(T0 + 3_400), [], 'a second change within a second: no RS yet');
  assert.equal(q.nextDeadlineMs(), T0 + 4 * SECOND, 'the next RS a second after the last');
  only(q.timer(T0 + 4 * SECOND), 'send');
  only(q.timer(T0 + 8 * SECOND), 'send');
  only(q.timer(T0 + 12 * SECOND), 'send');
  const down = only(q.timer(T0 + 16 * SECOND), 'down');
  assert.deepEqual(down.previous, up.address);
});
