/**
 * 200,000 random helper requests against the policy (issue 11, finding 3), the addresses biased
 * toward near-misses: a client's own server in bits 32..63 under a wrong first 32 bits, prefixes
 * one bit away from the configured one, multicast, fe80 variants, every prefix length. Nothing
 * outside the configured prefix (a client's: 2001:0::/32) and the two Teredo link-locals in
 * fe80::/64 may be accepted, and no accepted address may make the kernel route more than that.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decideHelperRequest, TEREDO_LINK_LOCALS } from '../../../src/bootstrap/helper-policy.js';
import type { HelperPolicyContext, PolicyDecision } from '../../../src/bootstrap/helper-policy.js';
import type { HelperRequest } from '../../../src/ipc/bootstrap-engine-messages.js';
import { formatIPv6, parseIPv6 } from '../../../src/teredo/ipv6-text.js';

const RUNS = 200_000;
const STANDARD_PREFIX = 0x20010000;
const LINK_LOCAL_TEXTS = new Set(TEREDO_LINK_LOCALS);

const uint32 = fc.integer({ min: 0, max: 0xffff_ffff });

const clientContext = uint32.map((server): HelperPolicyContext => ({
  ifindex: 7,
  prefix: STANDARD_PREFIX,
  serverIPv4: server,
}));
const relayPrefix = fc.oneof(
  fc.constantFrom(STANDARD_PREFIX, 0x3ffe831f, 0x20010db8),
  uint32.filter((prefix) => prefix >>> 24 !== 0xff),
);
const relayContext = relayPrefix.map((prefix): HelperPolicyContext => ({ ifindex: 7, prefix }));
const context = fc.oneof(clientContext, relayContext);

function bytesOf(text: string): Uint8Array {
  const bytes = parseIPv6(text);
  if (bytes === null) throw new Error(`bad fixture ${text}`);
  return bytes;
}

function withPrefix(prefix: number, rest: Uint8Array): Uint8Array {
  const bytes = Uint8Array.from(rest);
  new DataView(bytes.buffer).setUint32(0, prefix >>> 0);
  return bytes;
}

function withServer(bytes: Uint8Array, server: number): Uint8Array {
  new DataView(bytes.buffer).setUint32(4, server >>> 0);
  return bytes;
}

function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const copy = Uint8Array.from(bytes);
  copy[bit >>> 3] = (copy[bit >>> 3] ?? 0) ^ (0x80 >>> (bit & 7));
  return copy;
}

const sixteen = fc.uint8Array({ minLength: 16, maxLength: 16 });

/** How a candidate address was made, so the test can show each kind was exercised. */
type Kind = 'random' | 'in-prefix' | 'near-miss' | 'multicast' | 'link-local' | 'special';

function addressFor(ctx: HelperPolicyContext): fc.Arbitrary<{ kind: Kind; bytes: Uint8Array }> {
  const server = ctx.serverIPv4 ?? 0xc0000201;
  const prefix = ctx.prefix >>> 0;
  const wrongFirst32 = fc.oneof(
    fc.integer({ min: 0, max: 31 }).map((bit) => (prefix ^ (1 << bit)) >>> 0),
    fc.constantFrom(0x2a001450, 0x3ffe831f, 0x20020000, 0x20010db8, (prefix + 1) >>> 0, (prefix - 1) >>> 0),
    uint32,
  );
  const tagged = (kind: Kind, arbitrary: fc.Arbitrary<Uint8Array>) =>
    arbitrary.map((bytes) => ({ kind, bytes }));
  return fc.oneof(
    tagged('random', sixteen),
    tagged(
      'in-prefix',
      sixteen.map((rest) => withServer(withPrefix(prefix, rest), server)),
    ),
    tagged(
      'near-miss',
      fc.tuple(wrongFirst32, sixteen).map(([first, rest]) => withServer(withPrefix(first, rest), server)),
    ),
    tagged(
      'multicast',
      fc
        .tuple(fc.integer({ min: 0, max: 0xff_ffff }), sixteen)
        .map(([low, rest]) => withServer(withPrefix((0xff00_0000 | low) >>> 0, rest), server)),
    ),
    tagged(
      'link-local',
      fc.oneof(
        fc.constantFrom(...TEREDO_LINK_LOCALS).map(bytesOf),
        fc
          .tuple(fc.constantFrom(...TEREDO_LINK_LOCALS), fc.integer({ min: 0, max: 127 }))
          .map(([text, bit]) => flipBit(bytesOf(text), bit)),
        sixteen.map((rest) => withPrefix(0xfe800000, rest)),
        sixteen.map((rest) => withServer(withPrefix(0xfe800000, rest), server)),
        fc
          .constantFrom(0xfec00000, 0xfebf0000, 0xfe810000)
          .chain((first) =>
            fc.constantFrom(...TEREDO_LINK_LOCALS).map((text) => withPrefix(first, bytesOf(text))),
          ),
      ),
    ),
    tagged('special', fc.constantFrom('::', '::1', '::ffff:192.0.2.1', '2001::', '2001:0::1').map(bytesOf)),
  );
}

const prefixLength = fc.oneof(
  fc.integer({ min: 0, max: 128 }),
  fc.constantFrom(0, 1, 16, 31, 32, 33, 48, 63, 64, 65, 127, 128),
);
const metric = fc.oneof(fc.constantFrom(0, 256, 1023, 1024, 1028, 1029), uint32);

/** Either of the two forms the IPC schemas let through: text or 32 hex digits. */
function written(bytes: Uint8Array, hex: boolean): string {
  return hex ? Buffer.from(bytes).toString('hex') : formatIPv6(bytes);
}

interface ScenarioValue {
  readonly ctx: HelperPolicyContext;
  readonly candidate: { readonly kind: Kind; readonly bytes: Uint8Array };
  readonly prefixLen: number;
  readonly metric: number;
  readonly hex: boolean;
  readonly type: 'set-address' | 'del-address' | 'client-state' | 'set-route' | 'del-route';
}

const scenario: fc.Arbitrary<ScenarioValue> = context.chain((ctx) =>
  fc.record({
    ctx: fc.constant(ctx),
    candidate: addressFor(ctx),
    prefixLen: prefixLength,
    metric,
    hex: fc.boolean(),
    type: fc.constantFrom('set-address', 'del-address', 'client-state', 'set-route', 'del-route'),
  }),
);

function requestOf(s: ScenarioValue): HelperRequest {
  const address = written(s.candidate.bytes, s.hex);
  switch (s.type) {
    case 'set-address':
    case 'del-address':
      return { type: s.type, id: 1, ifindex: 7, address, prefixLen: s.prefixLen };
    case 'client-state':
      return { type: 'client-state', id: 1, ifindex: 7, state: 'up', address, mtu: 1280 };
    case 'set-route':
    case 'del-route':
      return { type: s.type, id: 1, ifindex: 7, dst: address, prefixLen: s.prefixLen, metric: s.metric };
  }
}

function first32(bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset, 16).getUint32(0);
}

/** The network the kernel routes for an address of length `prefixLen` lies inside `outer`/`outerLen`. */
function routeInside(bytes: Uint8Array, prefixLen: number, outer: Uint8Array, outerLen: number): boolean {
  if (prefixLen < outerLen) return false;
  for (let bit = 0; bit < outerLen; bit++) {
    const mask = 0x80 >>> (bit & 7);
    if (((bytes[bit >>> 3] ?? 0) & mask) !== ((outer[bit >>> 3] ?? 0) & mask)) return false;
  }
  return true;
}

function checkAccepted(s: ScenarioValue, decision: Extract<PolicyDecision, { accept: true }>): void {
  const { bytes } = s.candidate;
  const text = formatIPv6(bytes);
  const prefix = s.ctx.prefix >>> 0;
  if (s.ctx.serverIPv4 !== undefined) assert.equal(prefix, STANDARD_PREFIX);
  const prefixBytes = new Uint8Array(16);
  new DataView(prefixBytes.buffer).setUint32(0, prefix);
  switch (decision.action.kind) {
    case 'add-address':
    case 'del-address': {
      const inPrefix = first32(bytes) === prefix && routeInside(bytes, s.prefixLen, prefixBytes, 32);
      const linkLocal = LINK_LOCAL_TEXTS.has(text) && routeInside(bytes, s.prefixLen, bytesOf('fe80::'), 64);
      assert.ok(inPrefix || linkLocal, `${text}/${s.prefixLen} accepted for prefix ${prefix.toString(16)}`);
      assert.deepEqual(decision.action.address, bytes);
      assert.equal(decision.action.prefixLen, s.prefixLen);
      return;
    }
    case 'client-state':
      assert.equal(first32(bytes), STANDARD_PREFIX, `${text} reported up`);
      assert.ok(s.ctx.serverIPv4 !== undefined);
      return;
    case 'add-route':
    case 'del-route': {
      const isDefault = s.prefixLen === 0 && bytes.every((byte) => byte === 0) && s.metric >= 1029;
      const isPrefix = s.prefixLen === 32 && text === formatIPv6(prefixBytes) && s.metric >= 1024;
      assert.ok(isDefault || isPrefix, `route ${text}/${s.prefixLen} metric ${s.metric}`);
      return;
    }
    default:
      assert.fail(`unexpected action ${decision.action.kind}`);
  }
}

test(`property: ${RUNS} random requests accept nothing outside the Teredo prefix and fe80::/64`, () => {
  const accepted = new Map<Kind, number>();
  const refused = new Map<Kind, number>();
  const count = (map: Map<Kind, number>, kind: Kind) => map.set(kind, (map.get(kind) ?? 0) + 1);
  fc.assert(
    fc.property(scenario, (s) => {
      const decision = decideHelperRequest(requestOf(s), s.ctx);
      if (!decision.accept) {
        count(refused, s.candidate.kind);
        return;
      }
      count(accepted, s.candidate.kind);
      checkAccepted(s, decision);
    }),
    { numRuns: RUNS },
  );
  // Not vacuous: both outcomes were reached, and every near-miss was refused.
  assert.ok((accepted.get('in-prefix') ?? 0) > RUNS / 100, 'in-prefix requests are accepted');
  assert.ok((accepted.get('link-local') ?? 0) > 0, 'Teredo link-locals are accepted');
  assert.ok((refused.get('near-miss') ?? 0) > RUNS / 100, 'near-misses were tried');
  assert.equal(accepted.get('multicast') ?? 0, 0);
});
