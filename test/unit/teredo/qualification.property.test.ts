/**
 * Robustness of the qualification machine: hostile datagrams never throw, and its invariants hold
 * across random interleavings of datagrams (random, mutated RAs, valid RAs) and timers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { buildRouterAdvertisement } from '../../../src/teredo/icmpv6.js';
import { createQualification, QUALIFICATION_MESSAGES } from '../../../src/teredo/qualification.js';
import type { Qualification, QualificationAction } from '../../../src/teredo/qualification.js';
import { createSecurityContext } from '../../../src/teredo/security.js';
import { MAPPED_IPV4, MAPPED_PORT, RESTRICTED_LL, SERVER_IPV4 } from './fixtures.js';

const SECURITY = createSecurityContext(new Uint8Array(16).fill(7), 42);
const T0 = 5_000;

function newMachine(): { q: Qualification; nonce: Uint8Array } {
  const q = createQualification({ security: SECURITY, serverIPv4: SERVER_IPV4 });
  const rs = q.start(T0).find((action) => action.kind === 'send');
  assert.ok(rs !== undefined);
  return { q, nonce: rs.datagram.slice(4, 12) };
}

function validRa(nonce: Uint8Array, mappedIPv4 = MAPPED_IPV4, mtu = 1280): Uint8Array {
  const out = new Uint8Array(256);
  const length = buildRouterAdvertisement(out, 0, {
    nonce,
    originPort: MAPPED_PORT,
    originIPv4: mappedIPv4,
    destination: RESTRICTED_LL,
    serverIPv4: SERVER_IPV4,
    mtu,
  });
  return out.slice(0, length);
}

const knownMessages = new Set<string>(Object.values(QUALIFICATION_MESSAGES));

function checkActions(actions: readonly QualificationAction[]): void {
  for (const action of actions) {
    switch (action.kind) {
      case 'send':
        assert.equal(action.datagram.length, 61);
        assert.equal(action.ipv4, SERVER_IPV4);
        assert.equal(action.port, 3544);
        break;
      case 'up':
        assert.equal(action.address.length, 16);
        assert.ok(action.mtu >= 1280 && action.mtu <= 65535);
        assert.ok(action.previous === null || action.previous.length === 16);
        break;
      case 'down':
        assert.equal(action.previous.length, 16);
        break;
      case 'log':
        assert.ok(knownMessages.has(action.message), action.message);
        break;
    }
  }
}

test('random datagrams never throw, whatever their port, offset and length', () => {
  const { q } = newMachine();
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 300 }),
      fc.integer({ min: -4, max: 320 }),
      fc.integer({ min: -4, max: 320 }),
      fc.oneof(fc.constant(3544), fc.integer({ min: 0, max: 0xffff })),
      (bytes, offset, length, port) => {
        const actions = q.offer(bytes, offset, length, SERVER_IPV4, port, T0 + 1);
        if (actions !== null) checkActions(actions);
      },
    ),
    { numRuns: 20_000 },
  );
  assert.equal(q.state.up, false, 'random bytes never carry our nonce');
});

test('byte mutations of a valid RA never throw and qualify only with the nonce intact', () => {
  const outcomes = { passed: 0, ignored: 0, up: 0 };
  fc.assert(
    fc.property(
      fc.array(fc.record({ at: fc.nat(116), value: fc.integer({ min: 0, max: 255 }) }), {
        minLength: 1,
        maxLength: 4,
      }),
      fc.integer({ min: 0, max: 117 }),
      (mutations, cut) => {
        const { q, nonce } = newMachine();
        const datagram = validRa(nonce);
        for (const { at, value } of mutations) datagram[at] = value;
        const actions = q.offer(datagram, 0, cut, SERVER_IPV4, 3544, T0 + 1);
        if (actions === null) {
          outcomes.passed++;
          return;
        }
        checkActions(actions);
        if (q.state.up) {
          outcomes.up++;
          assert.deepEqual(datagram.slice(4, 12), nonce);
          assert.equal(datagram[12], 0, 'confirmation byte');
        } else {
          outcomes.ignored++;
        }
      },
    ),
    { numRuns: 5_000 },
  );
  assert.ok(outcomes.passed > 0 && outcomes.ignored > 0 && outcomes.up > 0, JSON.stringify(outcomes));
});

type Step =
  | { readonly kind: 'wait'; readonly ms: number }
  | { readonly kind: 'tick' }
  | { readonly kind: 'answer'; readonly mappedIPv4: number; readonly mtu: number }
  | { readonly kind: 'noise'; readonly bytes: Uint8Array };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 150_000 }) }),
  fc.record({ kind: fc.constant('tick' as const) }),
  fc.record({
    kind: fc.constant('answer' as const),
    mappedIPv4: fc.constantFrom(MAPPED_IPV4, 0xcb007106),
    mtu: fc.constantFrom(1280, 1400),
  }),
  fc.record({ kind: fc.constant('noise' as const), bytes: fc.uint8Array({ maxLength: 120 }) }),
);

test('random interleavings keep the state machine consistent', () => {
  const seen = { up: 0, replaced: 0, down: 0, refreshed: 0 };
  fc.assert(
    fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
      const q = createQualification({ security: SECURITY, serverIPv4: SERVER_IPV4 });
      let now = T0;
      let nonce: Uint8Array | null = null;
      let up: Uint8Array | null = null;
      const apply = (actions: readonly QualificationAction[]): void => {
        checkActions(actions);
        for (const action of actions) {
          if (action.kind === 'send') nonce = action.datagram.slice(4, 12);
          if (action.kind === 'up') {
            seen.up++;
            if (action.previous !== null) seen.replaced++;
            // `previous` names exactly the address we had, when it changes.
            if (up !== null && action.previous !== null) assert.deepEqual(action.previous, up);
            if (action.previous !== null) assert.notDeepEqual(action.address, action.previous);
            up = action.address;
          }
          if (action.kind === 'down') {
            seen.down++;
            assert.ok(up !== null, 'down only when up');
            assert.deepEqual(action.previous, up);
            up = null;
          }
        }
        const state = q.state;
        assert.equal(state.up, up !== null);
        assert.deepEqual(state.address, up);
        assert.ok(Number.isFinite(q.nextDeadlineMs()), 'once started, something is always due');
      };
      apply(q.start(now));
      for (const s of steps) {
        switch (s.kind) {
          case 'wait':
            now += s.ms;
            break;
          case 'tick': {
            const before = q.nextDeadlineMs();
            now = Math.max(now, before);
            apply(q.timer(now));
            assert.ok(q.nextDeadlineMs() > before, 'a due timer always moves the deadline on');
            break;
          }
          case 'answer':
            if (nonce !== null) {
              const actions = q.offer(validRa(nonce, s.mappedIPv4, s.mtu), 0, 117, SERVER_IPV4, 3544, now);
              assert.ok(actions !== null);
              if (actions.length === 0 && up !== null) seen.refreshed++;
              apply(actions);
            }
            break;
          case 'noise': {
            const actions = q.offer(s.bytes, 0, s.bytes.length, SERVER_IPV4, 3544, now);
            if (actions !== null) apply(actions);
            break;
          }
        }
      }
    }),
    { numRuns: 2_000 },
  );
  assert.ok(
    Object.values(seen).every((count) => count > 0),
    JSON.stringify(seen),
  );
});
