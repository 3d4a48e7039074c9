/** The fault campaign's accounting of a steady ping (steady-ping.ts): pure, no root needed. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { outageOf, overtakenOf, probesOf, recordLine, STEADY_INTERVAL_MS } from './steady-ping.js';
import type { Run } from './steady-ping.js';
import type { Probe } from './steady-ping.js';

/** Requests every 200 ms from `startMs`; `lost` holds the indexes left unanswered. */
function steady(startMs: number, count: number, lost: ReadonlySet<number>): Probe[] {
  return Array.from({ length: count }, (_, index) => {
    const sentAtMs = startMs + index * STEADY_INTERVAL_MS;
    return { sentAtMs, repliedAtMs: lost.has(index) ? null : sentAtMs + 5 };
  });
}

describe('steady ping accounting', () => {
  it('an outage: the requests lost, and the reply after the longest run of them', () => {
    const probes = steady(0, 50, new Set([3, 20, 21, 22, 23, 24, 40]));
    assert.deepEqual(outageOf(probes, 0, 10_000), { sent: 50, lost: 7, longest: 5, recoveredAtMs: 5005 });
    assert.deepEqual(outageOf(probes, 5000, 6000), { sent: 6, lost: 0, longest: 0, recoveredAtMs: 5000 });
  });

  it('no reply after the outage: not recovered', () => {
    const probes = steady(0, 10, new Set([7, 8, 9]));
    assert.equal(outageOf(probes, 0, 2000).recoveredAtMs, null);
  });

  it('the time no ping ran counts as unanswered requests, one per interval', () => {
    const reply = (sentAtMs: number): { sentAtMs: number; repliedAtMs: number } => ({
      sentAtMs,
      repliedAtMs: sentAtMs + 5,
    });
    const runs = [
      {
        startMs: 0,
        probes: new Map([
          [1, reply(0)],
          [2, reply(200)],
        ]),
      },
      { startMs: 1000, probes: new Map([[1, reply(1010)]]) },
    ];
    const probes = probesOf(runs, STEADY_INTERVAL_MS);
    assert.deepEqual(
      probes.map((probe) => [probe.sentAtMs, probe.repliedAtMs !== null]),
      [
        [0, true],
        [200, true],
        [400, false],
        [600, false],
        [800, false],
        [1010, true],
      ],
    );
  });

  it('runs that sent nothing before the first request (no route yet) count as unanswered requests', () => {
    const runs = [
      { startMs: 0, probes: new Map() },
      { startMs: 250, probes: new Map() },
      { startMs: 500, probes: new Map([[1, { sentAtMs: 700, repliedAtMs: 705 }]]) },
    ];
    const probes = probesOf(runs, STEADY_INTERVAL_MS);
    assert.deepEqual(
      probes.map((probe) => [probe.sentAtMs, probe.repliedAtMs]),
      [
        [0, null],
        [200, null],
        [400, null],
        [700, 705],
      ],
    );
    assert.equal(outageOf(probes, 0, 1000).recoveredAtMs, 705);
  });

  it('a reply that comes after a later one is overtaken; a duplicate is not', () => {
    const run: Run = { startMs: 0, endMs: null, probes: new Map(), highestReplied: 0 };
    const reply = (atS: string, seq: number, ms: number): string =>
      `[${atS}] 64 bytes from 2001:db8::1: icmp_seq=${seq} ttl=63 time=${ms} ms`;
    for (const line of [
      reply('10.000', 1, 5),
      '[10.400] no answer yet for icmp_seq=2',
      reply('10.405', 3, 5),
      reply('10.610', 2, 410),
      reply('10.611', 2, 411),
      reply('10.605', 4, 5),
      reply('10.606', 4, 6),
    ]) {
      recordLine(run, line);
    }
    const probes = probesOf([run], STEADY_INTERVAL_MS);
    assert.deepEqual(
      probes.map((probe) => [probe.sentAtMs, probe.repliedAtMs, probe.overtaken]),
      [
        [9995, 10_000, false],
        [10_200, 10_610, true],
        [10_400, 10_405, false],
        [10_600, 10_605, false],
      ],
    );
    assert.deepEqual(overtakenOf(probes, 0, 20_000), [probes[1]]);
    assert.deepEqual(overtakenOf(probes, 10_300, 20_000), []);
  });
});
