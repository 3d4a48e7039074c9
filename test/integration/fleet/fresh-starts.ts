/**
 * Fresh starts of Teredo clients across the anycast fleet (issue 18's acceptance): each start
 * qualifies a client on a new port (so a new NAT mapping, a new Teredo address and an empty peer
 * table), then the IPv6 host pings it (first contact) and a TCP transfer runs from each side.
 * Used by first-contact.test.ts and shared-address.test.ts.
 */
import type { TestContext } from 'node:test';
import { FLEET_IPV6HOST_IPV6 } from '../../../scripts/lab/index.js';
import type { Implementation, Lab, TeredoClient } from '../../../scripts/lab/index.js';
import { engineCounters, formatCounters, tcpTransfer } from '../lab/tunnel-tools.js';

export const FRESH_CLIENTS = ['alice', 'bob', 'carol', 'dave', 'erin'] as const;
const TCP_BYTES = 64 * 1024;
const TCP_TIMEOUT_MS = 10_000;
const QUALIFY_TIMEOUT_MS = 20_000;

export interface Trial {
  readonly client: string;
  readonly qualified: boolean;
  /** Echo replies the host got of its first 3 (0 = first contact failed). */
  readonly pingReplies: number;
  readonly tcpFromHost: boolean;
  readonly tcpToHost: boolean;
  readonly note: string;
}

export const works = (trial: Trial): boolean => trial.pingReplies > 0 && trial.tcpFromHost && trial.tcpToHost;

let nextPort = 0;

async function identicalTransfer(
  t: TestContext,
  lab: Lab,
  options: Parameters<typeof tcpTransfer>[2],
): Promise<[boolean, string]> {
  try {
    const transfer = await tcpTransfer(t, lab, options);
    return [transfer.receivedSha256 === transfer.sentSha256, ''];
  } catch (error) {
    return [false, (error as Error).message.split('\n')[0] ?? ''];
  }
}

/** The client under test, started afresh on `node` (a new port, so a new mapping and address). */
export function startFresh(
  lab: Lab,
  node: string,
  impl: Implementation,
  /** Our client from another build (e.g. before a change); default this one. */
  packageRoot?: string,
): Promise<TeredoClient> {
  return lab.startClient(node, impl, {
    ...(packageRoot === undefined ? {} : { packageRoot }),
    ...(impl === 'ours' ? { extraConfig: ['DataplaneWorkers 1'] } : {}),
  });
}

/** One fresh start of `client`: qualify, first contact from the host, TCP from each side, stop. */
async function trial(
  t: TestContext,
  lab: Lab,
  client: string,
  impl: Implementation,
  port: number,
  packageRoot: string | undefined,
): Promise<Trial> {
  const daemon = await startFresh(lab, client, impl, packageRoot);
  try {
    const qualified = await lab.waitQualified(daemon, QUALIFY_TIMEOUT_MS).catch(() => null);
    if (qualified === null) {
      return {
        client,
        qualified: false,
        pingReplies: 0,
        tcpFromHost: false,
        tcpToHost: false,
        note: 'no address',
      };
    }
    const ping = await lab.ping6('ipv6host', qualified.address, {
      count: 3,
      intervalSeconds: 0.2,
      deadlineSeconds: 4,
    });
    const [tcpFromHost, fromNote] = await identicalTransfer(t, lab, {
      from: 'ipv6host',
      to: client,
      address: qualified.address,
      port: 5002,
      bytes: TCP_BYTES,
      timeoutMs: TCP_TIMEOUT_MS,
    });
    const [tcpToHost, toNote] = await identicalTransfer(t, lab, {
      from: client,
      to: 'ipv6host',
      address: FLEET_IPV6HOST_IPV6,
      port,
      bytes: TCP_BYTES,
      timeoutMs: TCP_TIMEOUT_MS,
    });
    const result = {
      client,
      qualified: true,
      pingReplies: ping.received,
      tcpFromHost,
      tcpToHost,
      note: [fromNote, toNote].filter((note) => note !== '').join('; '),
    };
    if (!works(result) && impl === 'ours') {
      const counters = await engineCounters(daemon.daemon).catch(() => ({}));
      return { ...result, note: `${result.note} counters: ${formatCounters(counters)}` };
    }
    return result;
  } finally {
    await daemon.stop(2000);
  }
}

/** `rounds` rounds of a fresh start of every client at once; every trial, in order. */
export async function freshStarts(
  t: TestContext,
  lab: Lab,
  impl: Implementation,
  rounds: number,
  packageRoot?: string,
): Promise<Trial[]> {
  const trials: Trial[] = [];
  for (let round = 0; round < rounds; round++) {
    // A port of its own per trial on the host: no listener of an earlier one in the way.
    const port = (index: number): number => 5100 + (nextPort++ % 800) * FRESH_CLIENTS.length + index;
    trials.push(
      ...(await Promise.all(
        FRESH_CLIENTS.map((client, index) => trial(t, lab, client, impl, port(index), packageRoot)),
      )),
    );
  }
  return trials;
}

export function summary(what: string, trials: readonly Trial[]): string {
  const count = (test: (trial: Trial) => boolean): number => trials.filter(test).length;
  const failed = trials.filter((trial) => !works(trial));
  return (
    `${what}: ${count(works)} of ${trials.length} fresh starts worked; ` +
    `first contact ${count((x) => x.pingReplies > 0)}, TCP from the host ${count((x) => x.tcpFromHost)}, ` +
    `TCP to the host ${count((x) => x.tcpToHost)}, qualified ${count((x) => x.qualified)}` +
    (failed.length === 0
      ? ''
      : `; failed: ${failed.map((x) => `${x.client} (${x.pingReplies}/3 pings, ${x.note || 'tcp'})`).join(', ')}`)
  );
}
