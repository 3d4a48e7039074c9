/**
 * The demo's pieces that need no root: preconditions and their messages, the output (colour
 * only when asked, an aligned summary table), judging qualifications, pings and relay
 * discoveries, the step runner and signal handling.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { CapturedPacket, OutputLine, PingResult, Qualified } from '../../../scripts/lab/index.js';
import { exitCodeFor, InterruptedError, Interruption } from '../../../scripts/demo-interrupt.js';
import { exchangeMs, judgePing, judgeQualification, judgeRelay } from '../../../scripts/demo-judgements.js';
import { DemoOutput, summaryTable, wantsColour } from '../../../scripts/demo-output.js';
import type { StepResult } from '../../../scripts/demo-output.js';
import { commandExists, DEMO_REQUIREMENTS, missingRequirements } from '../../../scripts/demo-packages.js';
import { BUILD_OUTPUTS, checkPreconditions, TUN_DEVICE } from '../../../scripts/demo-preconditions.js';
import { describeDiscovery, findRelay } from '../../../scripts/demo-relay.js';
import { StepRunner } from '../../../scripts/demo-steps.js';

const HOST = '2001:db8:1::2';
const ALICE = '2001:0:c633:6401:382b:6935:39cc:9bf5';

function packet(
  kind: CapturedPacket['kind'],
  udp: readonly [string, number, string, number],
  ipv6: readonly [string, string],
  origin: readonly [string, number] | null = null,
): CapturedPacket {
  return {
    time: 0,
    kind,
    udp: { src: udp[0], srcPort: udp[1], dst: udp[2], dstPort: udp[3] },
    ipv6: { src: ipv6[0], dst: ipv6[1] },
    origin: origin === null ? null : { ipv4: origin[0], port: origin[1] },
    nonce: null,
  };
}

/** What alice's node saw while pinging the host (taken from a real run of the lab). */
const ALICE_PINGS_HOST: readonly CapturedPacket[] = [
  packet('echo-request', ['10.1.0.2', 38602, '198.51.100.1', 3544], [ALICE, HOST]),
  packet(
    'bubble',
    ['198.51.100.1', 3544, '10.1.0.2', 38602],
    ['fe80::1ce9:8a:2f4e:83f8', ALICE],
    ['198.51.100.3', 34109],
  ),
  packet('bubble', ['10.1.0.2', 38602, '198.51.100.3', 34109], [ALICE, 'fe80::1ce9:8a:2f4e:83f8']),
  packet('echo-reply', ['198.51.100.3', 34109, '10.1.0.2', 38602], [HOST, ALICE]),
  packet('echo-request', ['10.1.0.2', 38602, '198.51.100.3', 34109], [ALICE, HOST]),
  packet('echo-reply', ['198.51.100.3', 34109, '10.1.0.2', 38602], [HOST, ALICE]),
];

function recorder(): { lines: string[]; output: DemoOutput } {
  const lines: string[] = [];
  return { lines, output: new DemoOutput((line) => lines.push(line), false) };
}

describe('demo preconditions', () => {
  const everything = { isRoot: () => true, exists: () => true };

  it('checks root first, then the TUN device, then the build, each with one sentence', () => {
    assert.deepEqual(checkPreconditions(everything, '/repo/'), { ok: true });
    const notRoot = checkPreconditions({ isRoot: () => false, exists: () => false }, '/repo/');
    assert.ok(!notRoot.ok && /run it with sudo/.test(notRoot.message));
    const noTun = checkPreconditions({ isRoot: () => true, exists: (path) => path !== TUN_DEVICE }, '/repo/');
    assert.ok(!noTun.ok && noTun.message.startsWith(`${TUN_DEVICE} is missing`));
    const noAddon = checkPreconditions(
      { isRoot: () => true, exists: (path) => !path.endsWith('miredo_native.node') },
      '/repo/',
    );
    assert.ok(!noAddon.ok && /not built .*build\/Release\/miredo_native\.node.*npm ci/.test(noAddon.message));
    for (const result of [notRoot, noTun, noAddon]) assert.ok(!result.ok && !result.message.includes('\n'));
  });

  it('looks for the build outputs under the repository root', () => {
    const asked: string[] = [];
    checkPreconditions({ isRoot: () => true, exists: (path) => (asked.push(path), true) }, '/repo/');
    assert.deepEqual(
      asked.slice(1),
      BUILD_OUTPUTS.map((path) => `/repo/${path}`),
    );
  });
});

describe('demo packages', () => {
  it('lists what is missing in order, never the miredo packages', async () => {
    const names = DEMO_REQUIREMENTS.map((requirement) => requirement.packageName);
    assert.ok(names.includes('iptables') && names.includes('iputils-ping') && names.includes('tshark'));
    assert.ok(!names.some((name) => name.startsWith('miredo')));
    const missing = await missingRequirements(DEMO_REQUIREMENTS, async (requirement) =>
      ['iproute2', 'procps'].includes(requirement.packageName),
    );
    assert.deepEqual(
      missing.map((requirement) => requirement.packageName),
      ['iptables', 'iputils-ping', 'tshark'],
    );
  });

  it('finds commands on PATH and in the system directories', () => {
    assert.equal(commandExists('sh', ''), true);
    assert.equal(commandExists('no-such-command-for-the-demo', '/usr/bin'), false);
  });
});

describe('demo output', () => {
  const results: readonly StepResult[] = [
    { title: 'build the lab', status: 'ok', detail: 'd', brief: '10 namespaces' },
    { title: 'alice → IPv6 host', status: 'failed', detail: 'd', brief: '0/3 replies' },
    { title: 'relay found by alice', status: 'skipped', detail: 'd', brief: 'alice did not qualify' },
  ];

  it('uses colour only on a terminal without NO_COLOR', () => {
    assert.equal(wantsColour({ isTTY: true }, {}), true);
    assert.equal(wantsColour({ isTTY: true }, { NO_COLOR: '1' }), false);
    assert.equal(wantsColour({ isTTY: false }, {}), false);
    assert.equal(wantsColour({}, {}), false);
    const plain = recorder();
    plain.output.step({ title: 't', status: 'failed', detail: 'why', brief: 'b' });
    plain.output.summary(results);
    assert.ok(plain.lines.every((line) => !line.includes('\u001b[')));
    const coloured: string[] = [];
    new DemoOutput((line) => coloured.push(line), true).step(results[1] ?? assert.fail());
    assert.ok((coloured[0] ?? '').includes('\u001b[31mFAILED'), coloured[0]);
  });

  it('prints one line per step with its status, and a summary that names what did not work', () => {
    const { lines, output } = recorder();
    for (const result of results) output.step(result);
    assert.match(lines[0] ?? '', /^\[\s*\d+\.\d{2}s\] ok\s+build the lab: d$/);
    assert.match(lines[1] ?? '', /\] FAILED\s+alice → IPv6 host: d$/);
    output.summary(results);
    assert.match(
      lines.at(-1) ?? '',
      /^2 of 3 steps did not work: alice → IPv6 host; relay found by alice\.$/,
    );
    output.summary(results.slice(0, 1));
    assert.equal(lines.at(-1), 'All 1 steps worked.');
    output.summary(results, 'SIGINT');
    assert.equal(lines.at(-1), 'Interrupted by SIGINT after 3 steps; the lab has been removed.');
  });

  it('lines the summary table up, whatever the titles, colour or not', () => {
    const title = fc.string({ maxLength: 30 }).filter((text) => !text.includes('\n'));
    const status = fc.constantFrom('ok' as const, 'failed' as const, 'skipped' as const);
    fc.assert(
      fc.property(
        fc.array(fc.record({ title, status, detail: fc.constant(''), brief: title }), { maxLength: 20 }),
        fc.boolean(),
        (rows, colour) => {
          // Colour codes wrap the result's text only, so stripping them gives the plain table back.
          const painted = summaryTable(rows, (_status, cell) =>
            colour ? `\u001b[31m${cell}\u001b[0m` : cell,
          );
          const stripped = painted.map((line) =>
            line.replaceAll('\u001b[31m', '').replaceAll('\u001b[0m', ''),
          );
          assert.deepEqual(stripped, summaryTable(rows));
          const [header, rule, ...body] = summaryTable(rows);
          assert.equal(body.length, rows.length);
          const column = (header ?? '').indexOf('result');
          assert.equal((rule ?? '')[column - 1], ' ');
          body.forEach((line, index) => {
            const expected =
              rows[index]?.status === 'ok' ? 'ok' : rows[index]?.status === 'failed' ? 'FAILED' : 'skipped';
            assert.equal(line.slice(column, column + expected.length), expected);
          });
        },
      ),
    );
  });
});

describe('demo judgements', () => {
  const qualified: Qualified = {
    address: ALICE,
    server: '198.51.100.1',
    mappedIPv4: '198.51.100.10',
    mappedPort: 38602,
    cone: false,
    elapsedMs: 1710,
  };
  const context = { natName: 'cone-nat-1', natPublicIPv4: '198.51.100.10', expectedServer: '198.51.100.1' };

  it('decodes a qualification and compares the mapping with the NAT public address', () => {
    const good = judgeQualification(qualified, { ...context, exchangeMs: 12 });
    assert.equal(good.ok, true);
    assert.equal(
      good.detail,
      `qualified as ${ALICE}, 1.71 s after the daemon started (12 ms once its engine ran): server 198.51.100.1, ` +
        "public 198.51.100.10:38602 (cone-nat-1's public address is 198.51.100.10: same), cone flag clear",
    );
    const wrongMapping = judgeQualification(qualified, {
      ...context,
      natPublicIPv4: '198.51.100.11',
      exchangeMs: null,
    });
    assert.equal(wrongMapping.ok, false);
    assert.match(wrongMapping.detail, /198\.51\.100\.11: DIFFERENT/);
    assert.doesNotMatch(wrongMapping.detail, /engine/);
    const wrongServer = judgeQualification(
      { ...qualified, server: '198.51.100.2' },
      { ...context, exchangeMs: null },
    );
    assert.equal(wrongServer.ok, false);
    assert.match(wrongServer.detail, /expected 198\.51\.100\.1/);
  });

  it('measures the exchange from our engine log, without Node.js start-up', () => {
    const line = (atMs: number, record: object): OutputLine => ({
      atMs,
      stream: 'stderr',
      text: JSON.stringify(record),
    });
    const output = [
      line(500, { time: 1000, msg: 'Starting...' }),
      line(1400, { time: 1900, msg: 'Privileges dropped' }),
      line(1390, { time: 1911, msg: 'New Teredo address/MTU' }),
    ];
    assert.equal(exchangeMs(output), 11);
    assert.equal(exchangeMs(output.slice(0, 2)), null);
    assert.equal(
      exchangeMs([{ atMs: 0, stream: 'stderr', text: 'Privileges dropped, New Teredo address/MTU' }]),
      null,
    );
  });

  it('wants every ping reply back and shows the round-trip times', () => {
    const ping = (received: number, rttsMs: number[]): PingResult => ({
      from: 'alice',
      to: HOST,
      transmitted: 3,
      received,
      rttsMs,
      transcript: 'ping output',
    });
    const good = judgePing(ping(3, [16.6, 1.15, 4.444]), 3, 'first one finds the relay');
    assert.equal(good.ok, true);
    assert.equal(good.detail, `${HOST}: 3/3 replies, RTT 16.60, 1.15, 4.44 ms (first one finds the relay)`);
    assert.equal(good.brief, '3/3 replies, average RTT 7.40 ms');
    const bad = judgePing(ping(2, [1, 2]), 3, 'first one finds the relay');
    assert.equal(bad.ok, false);
    assert.equal(bad.detail, `${HOST}: 2/3 replies, RTT 1.00, 2.00 ms`);
    assert.equal(bad.report, 'ping output');
    assert.equal(judgePing(ping(0, []), 3).brief, '0/3 replies');
  });
});

describe('demo relay discovery', () => {
  it('reads the relay from the replies, and how the client came to it', () => {
    const discovery = findRelay(ALICE_PINGS_HOST, HOST);
    assert.deepEqual(discovery, {
      relay: { ipv4: '198.51.100.3', port: 34109 },
      firstRequestTo: { ipv4: '198.51.100.1', port: 3544 },
      announcedBy: {
        via: { ipv4: '198.51.100.1', port: 3544 },
        origin: { ipv4: '198.51.100.3', port: 34109 },
      },
      directRequests: 1,
      replies: 2,
    });
    assert.equal(
      describeDiscovery(discovery),
      'the first echo request went through the server 198.51.100.1:3544, the relay announced itself in a bubble ' +
        'forwarded by 198.51.100.1:3544, then 2 echo replies came from the relay and 1 requests went straight to it',
    );
    const judged = judgeRelay(discovery, HOST, '198.51.100.3');
    assert.equal(judged.ok, true);
    assert.equal(judged.brief, 'relay 198.51.100.3:34109');
    assert.equal(judgeRelay(discovery, HOST, '198.51.100.4').ok, false);
  });

  it('finds nothing without a reply from the host over UDP', () => {
    const noReplies = ALICE_PINGS_HOST.filter((captured) => captured.kind !== 'echo-reply');
    assert.equal(findRelay(noReplies, HOST), null);
    assert.equal(findRelay(ALICE_PINGS_HOST, '2001:db8:1::99'), null);
    assert.equal(judgeRelay(null, HOST, '198.51.100.3').ok, false);
  });
});

describe('demo steps and signals', () => {
  it('records outcomes, turns errors into failures and lets an interruption through', async () => {
    const { lines, output } = recorder();
    const interruption = new Interruption();
    const steps = new StepRunner(output, interruption);
    assert.equal(
      await steps.run('works', async () => ({ ok: true, detail: 'fine', brief: 'b', value: 7 })),
      7,
    );
    assert.equal(
      await steps.run('throws', async () => {
        throw new Error('first line\nsecond line');
      }),
      null,
    );
    steps.skip('skipped', 'no reason to run');
    assert.deepEqual(
      steps.results.map((result) => [result.title, result.status, result.detail]),
      [
        ['works', 'ok', 'fine'],
        ['throws', 'failed', 'first line'],
        ['skipped', 'skipped', 'no reason to run'],
      ],
    );
    assert.deepEqual(steps.failures, [{ title: 'throws', text: 'first line\nsecond line' }]);
    assert.equal(steps.allOk, false);
    assert.equal(lines.length, 3);

    const hanging = steps.run('hangs', () => new Promise<never>(() => undefined));
    assert.equal(interruption.trigger('SIGINT'), true);
    await assert.rejects(hanging, (error) => error instanceof InterruptedError && error.signal === 'SIGINT');
    assert.equal(interruption.trigger('SIGINT'), false, 'the second signal is not a first one');
    await assert.rejects(steps.run('later', async () => ({ ok: true, detail: '', brief: '', value: 1 })));
    assert.throws(() => steps.skip('later', 'x'), InterruptedError);
    assert.equal(steps.results.length, 3, 'interrupted steps are not recorded');
  });

  it('exits as a shell would after a signal', () => {
    assert.equal(exitCodeFor('SIGINT'), 130);
    assert.equal(exitCodeFor('SIGTERM'), 143);
  });

  it('calls the first handler once, then the forced one', () => {
    // A signal nothing else in a test process listens to: Node 26 runs test files with
    // --report-signal=SIGUSR2, whose listener would write a diagnostic report on each emit.
    const signal: NodeJS.Signals = 'SIGWINCH';
    const listenersBefore = process.listenerCount(signal);
    const interruption = new Interruption();
    const calls: string[] = [];
    const uninstall = interruption.install(
      {
        onFirst: (received) => calls.push(`first ${received}`),
        onAgain: (received) => calls.push(`again ${received}`),
      },
      [signal],
    );
    try {
      assert.equal(process.listenerCount(signal), listenersBefore + 1);
      process.emit(signal, signal);
      process.emit(signal, signal);
    } finally {
      uninstall();
    }
    assert.deepEqual(calls, [`first ${signal}`, `again ${signal}`]);
    assert.equal(interruption.signal, signal);
    assert.equal(process.listenerCount(signal), listenersBefore, 'uninstall removed its listener');
  });
});
