/**
 * The Teredo server's rules (src/teredo/server.ts) on mutated datagrams: the first input byte
 * picks the socket, the next six are the source. Invariants: nothing throws; the action is one
 * of the three kinds, with its output inside the buffer and a counter that exists.
 */
import {
  createServerAction,
  createServerProcessor,
  SERVER_ACTION_DROP,
  SERVER_ACTION_SEND_RAW,
  SERVER_ACTION_SEND_UDP,
  SERVER_MAX_OUTPUT_BYTES,
} from '../../../src/teredo/server.js';
import type { ServerProcessor } from '../../../src/teredo/server.js';
import { SERVER_COUNTER_NAMES } from '../../../src/teredo/server-counters.js';
import { mutateBytes } from '../mutate-bytes.js';
import { PREFIX, SERVER_IPV4, SERVER_IPV4_2, serverDatagrams, sourceOf } from '../seeds.js';
import { BYTES_CODEC, invariant } from '../target.js';
import type { FuzzTarget } from '../target.js';

function createProcessor(): ServerProcessor {
  return createServerProcessor({
    primaryIPv4: SERVER_IPV4,
    secondaryIPv4: SERVER_IPV4_2,
    prefix: PREFIX,
    mtu: 1280,
    rsRateLimit: { perSecond: 50, burst: 100 },
    forwardRateLimit: { perSecond: 1000, burst: 2000 },
  });
}

export function serverTarget(): FuzzTarget<Uint8Array> {
  let processor = createProcessor();
  const out = new Uint8Array(SERVER_MAX_OUTPUT_BYTES + 16);
  const action = createServerAction();
  let nowMs = 5_000_000;
  return {
    name: 'server',
    codec: BYTES_CODEC,
    seeds: serverDatagrams,
    mutate: (seed, random, corpus) => mutateBytes(seed, random, corpus),
    reset(): void {
      processor = createProcessor();
    },
    run(input): string {
      nowMs += input.length & 15;
      const socket = (input[0] ?? 0) & 1;
      const rest = input.subarray(Math.min(1, input.length));
      const { ipv4, port, offset } = sourceOf(rest);
      const start = 1 + offset;
      processor.process(input, start, input.length - start, ipv4, port, socket, nowMs, out, 8, action);
      invariant(
        action.kind === SERVER_ACTION_DROP ||
          action.kind === SERVER_ACTION_SEND_UDP ||
          action.kind === SERVER_ACTION_SEND_RAW,
        `action kind ${action.kind}`,
      );
      invariant(
        action.counter >= 0 && action.counter < SERVER_COUNTER_NAMES.length,
        `counter ${action.counter}`,
      );
      invariant(
        action.length >= 0 && action.length <= SERVER_MAX_OUTPUT_BYTES,
        `output of ${action.length} bytes`,
      );
      if (action.kind === SERVER_ACTION_DROP) invariant(action.length === 0, 'a drop sends nothing');
      else invariant(action.length > 0, 'a send has bytes');
      if (action.kind === SERVER_ACTION_SEND_RAW) invariant((out[8] ?? 0) >>> 4 === 6, 'a raw send is IPv6');
      return `${action.kind}:${action.counter}:${action.socket}`;
    },
  };
}
