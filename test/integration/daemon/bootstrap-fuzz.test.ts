/**
 * Fuzzing the real root bootstrap through its channel (issue 11): an engine double sends it
 * MTS_FUZZ_FRAMES (default 20,000) helper requests that the fuzzer mutated from valid ones and
 * that pass the IPC schemas (a schema failure would only end the engine, which the attack tests
 * cover), most of them on the bootstrap's own interface. Whatever they ask, the bootstrap answers
 * each one, stays up with a flat descriptor count and small memory, and leaves on the interface
 * only Teredo addresses and routes; then it stops cleanly. `npm run fuzz` runs this file too.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { helperRequestSchema } from '../../../src/ipc/bootstrap-engine-messages.js';
import { mutateJson } from '../../../scripts/fuzz/mutate-json.js';
import { createRandom } from '../../../scripts/fuzz/random.js';
import { ENGINE_MESSAGE_SEEDS, frameOf, insidePrefixOrLinkLocal } from '../../../scripts/fuzz/targets/ipc.js';
import { parseIPv6 } from '../../../src/teredo/ipv6-text.js';
import { netnsSkip } from '../../support/netns.js';
import { FUZZ_FRAMES_FILE } from './attack-engine.js';
import {
  IFNAME,
  isViolation,
  memory,
  nextReady,
  openDescriptors,
  startHarness,
  stopDaemon,
  tearDown,
} from './attack-setup.js';
import type { Setup } from './attack-setup.js';
import { addresses6, linkState, routes6 } from './daemon-tools.js';
import type { LogLine } from './daemon-tools.js';

const FRAMES = Number(process.env['MTS_FUZZ_FRAMES'] ?? 20_000);
const SEED = Number(process.env['MTS_FUZZ_SEED'] ?? 20261207);
const TEREDO_PREFIX = 0x20010000;

/** `count` mutated helper requests that pass the schemas, 9 in 10 on `ifindex`; the file's bytes. */
function fuzzFrames(count: number, ifindex: number, seed: number): Buffer {
  const random = createRandom(seed);
  const requests = ENGINE_MESSAGE_SEEDS.filter((text) => 'id' in (JSON.parse(text) as object));
  const frames: Uint8Array[] = [];
  while (frames.length < count) {
    let value: unknown;
    try {
      value = JSON.parse(mutateJson(random.pick(requests), random));
    } catch {
      continue;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) continue;
    const request = value as Record<string, unknown>;
    request['id'] = frames.length + 1;
    if ('ifindex' in request && !random.oneIn(10)) request['ifindex'] = ifindex;
    if (!helperRequestSchema.safeParse(request).success) continue;
    frames.push(frameOf(JSON.stringify(request)));
  }
  const count32 = Buffer.alloc(4);
  count32.writeUInt32BE(count);
  return Buffer.concat([count32, ...frames]);
}

/** An address/len or route destination/len inside 2001:0::/32 or fe80::/64. */
function isTeredoOrLinkLocal(cidr: string): boolean {
  const bytes = parseIPv6(cidr.split('/')[0] ?? '');
  return bytes !== null && insidePrefixOrLinkLocal(bytes, TEREDO_PREFIX);
}

describe('the root bootstrap under fuzzed helper requests from its engine', { skip: netnsSkip() }, () => {
  let setup: Setup | undefined;
  let done: LogLine | null = null;
  let violations: LogLine[] = [];
  let fds = { before: 0, after: 0 };
  let rss = { before: 0, peak: 0 };
  let interfaceAfter: { addresses: string[]; routes: string[] } = { addresses: [], routes: [] };
  let interfaceAtStart: { addresses: string[]; routes: string[] } = { addresses: [], routes: [] };
  let exit: { code: number | null } = { code: null };
  let fuzzEngine = 0;

  before(async () => {
    setup = await startHarness(['quiet', 'fuzz', 'quiet'], { MIREDO_TS_CLIENT_HOOK: '/nonexistent' });
    const { daemon, ns } = setup;
    const first = await nextReady(daemon, 0);
    const link = await linkState(ns, IFNAME);
    assert.ok(link !== null, 'the bootstrap made its interface');
    interfaceAtStart = { addresses: await addresses6(ns, IFNAME), routes: await routes6(ns, IFNAME) };
    writeFileSync(join(setup.dir, FUZZ_FRAMES_FILE), fuzzFrames(FRAMES, link.ifindex, SEED));
    fds.before = openDescriptors(daemon.pid);
    rss.before = memory(daemon.pid).rss;
    process.kill(first, 'SIGKILL');
    fuzzEngine = await nextReady(daemon, first);
    done = await daemon.waitForLog((l) => l['msg'] === 'attack: fuzz done', 10 * 60_000);
    violations = daemon.lines.filter(isViolation);
    interfaceAfter = { addresses: await addresses6(ns, IFNAME), routes: await routes6(ns, IFNAME) };
    fds = { ...fds, after: openDescriptors(daemon.pid) };
    rss = { ...rss, peak: memory(daemon.pid).peak };
    exit = await stopDaemon(setup);
    process.stdout.write(
      `fuzz: ${FRAMES} requests (seed ${SEED}): ${JSON.stringify(done)}; fds ${JSON.stringify(fds)}; ` +
        `rss ${JSON.stringify(rss)}; interface ${JSON.stringify(interfaceAfter)}\n`,
    );
  });

  after(() => tearDown(setup));

  it('answers every request, with no protocol violation and no engine restart', () => {
    assert.ok(done !== null);
    assert.equal(Number(done['ok']) + Number(done['refused']) + Number(done['failed']), FRAMES);
    assert.ok(Number(done['ok']) > 0 && Number(done['refused']) > 0, 'requests of both kinds');
    assert.deepEqual(violations, []);
    assert.ok(setup);
    assert.equal(setup.daemon.lines.filter((l) => /^Engine \d+ ready$/.test(String(l['msg']))).length, 2);
    assert.ok(fuzzEngine > 0);
  });

  it('keeps its descriptor count flat and its memory small', () => {
    assert.equal(fds.after, fds.before);
    assert.ok(rss.peak < rss.before + 64 * 1024 * 1024, JSON.stringify(rss));
  });

  it('leaves only Teredo and link-local addresses and routes on the interface', () => {
    for (const address of interfaceAfter.addresses) assert.ok(isTeredoOrLinkLocal(address), address);
    for (const route of interfaceAfter.routes) {
      const [dst = '', , metric = ''] = route.split(' ');
      if (dst === 'default' || dst === '::/0') assert.ok(Number(metric) >= 1029, route);
      else assert.ok(isTeredoOrLinkLocal(dst) || dst.startsWith('ff00::'), route);
    }
  });

  it('stops cleanly afterwards, the interface reverted on the way', () => {
    assert.equal(exit.code, 0);
    assert.ok(interfaceAtStart.addresses.every((address) => !address.startsWith('2001:')));
  });
});
