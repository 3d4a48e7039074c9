/**
 * What an engine can send the bootstrap, through the bootstrap's own parsing path: the channel's
 * frames (src/ipc/frames.ts), the IPC schemas, and the helper's policy for helper requests.
 * Invariants: nothing throws; the decoder never holds more than one frame and stops at its first
 * violation; an accepted address or route lies inside the configured Teredo prefix or is a Teredo
 * link-local (RFC 4380 fe80::/64).
 */
import { decideHelperRequest } from '../../../src/bootstrap/helper-policy.js';
import type { HelperPolicyContext } from '../../../src/bootstrap/helper-policy.js';
import { createFrameDecoder, FRAME_HEADER_BYTES, MAX_FRAME_BYTES } from '../../../src/ipc/frames.js';
import { parseEngineToBootstrap } from '../../../src/ipc/bootstrap-engine-messages.js';
import { mutateBytes } from '../mutate-bytes.js';
import { mutateJson } from '../mutate-json.js';
import { PREFIX, SERVER_IPV4 } from '../seeds.js';
import { BYTES_CODEC, TEXT_CODEC, invariant } from '../target.js';
import type { FuzzTarget } from '../target.js';

export const IFINDEX = 7;
const CONTEXTS: readonly HelperPolicyContext[] = [
  { ifindex: IFINDEX, prefix: PREFIX, serverIPv4: SERVER_IPV4 },
  { ifindex: IFINDEX, prefix: 0x3ffe831f, serverIPv4: null },
];

export function insidePrefixOrLinkLocal(address: Uint8Array, prefix: number): boolean {
  const first = ((address[0]! << 24) | (address[1]! << 16) | (address[2]! << 8) | address[3]!) >>> 0;
  if (first === prefix >>> 0) return true;
  return address[0] === 0xfe && address[1] === 0x80 && address.subarray(2, 8).every((byte) => byte === 0);
}

/** One message of each kind an engine sends, as JSON text (ifindex IFINDEX). */
export const ENGINE_MESSAGE_SEEDS = [
  { type: 'ready', pid: 1234, workers: 2 },
  {
    type: 'set-address',
    id: 1,
    ifindex: IFINDEX,
    address: '2001:0:c633:6401:0:63bf:34ff:8efa',
    prefixLen: 32,
  },
  { type: 'del-address', id: 2, ifindex: IFINDEX, address: 'fe80::ffff:ffff:ffff', prefixLen: 64 },
  { type: 'set-route', id: 3, ifindex: IFINDEX, dst: '::', prefixLen: 0, metric: 1029 },
  { type: 'set-route', id: 4, ifindex: IFINDEX, dst: '2001::', prefixLen: 32, metric: 1024 },
  { type: 'set-mtu', id: 5, ifindex: IFINDEX, mtu: 1280 },
  { type: 'link', id: 6, ifindex: IFINDEX, up: true },
  {
    type: 'client-state',
    id: 7,
    ifindex: IFINDEX,
    state: 'up',
    address: '2001:0:c633:6401:0:63bf:34ff:8efa',
    mtu: 1280,
  },
  {
    type: 'summary-report',
    id: 8,
    summary: {
      role: 'client',
      pid: 9,
      uptimeSeconds: 1,
      workers: 1,
      uid: 65534,
      gid: 65534,
      maxRssBytes: 1,
      counters: { a: 1 },
    },
  },
].map((message) => JSON.stringify(message));

/** The helper's verdicts on one message the bootstrap received; throws when an invariant breaks. */
function judge(raw: unknown): string {
  const parsed = parseEngineToBootstrap(raw);
  if (!parsed.ok) return 'schema';
  const message = parsed.message;
  if (
    message.type === 'ready' ||
    message.type === 'summary-report' ||
    message.type === 'resolve' ||
    message.type === 'health'
  )
    return message.type;
  let outcome = message.type;
  for (const context of CONTEXTS) {
    const decision = decideHelperRequest(message, context);
    if (!decision.accept) {
      invariant(decision.reason.length > 0, 'a refusal says why');
      outcome += ':r';
      continue;
    }
    outcome += ':a';
    const { action } = decision;
    if (
      action.kind === 'add-address' ||
      action.kind === 'del-address' ||
      (action.kind === 'client-state' && action.up)
    )
      invariant(
        insidePrefixOrLinkLocal(action.address, context.prefix),
        `accepted ${message.type} ${JSON.stringify(message)}`,
      );
    if (action.kind === 'add-route' || action.kind === 'del-route') {
      const isDefault = action.prefixLen === 0 && action.dst.every((byte) => byte === 0);
      invariant(
        isDefault || (action.prefixLen === 32 && insidePrefixOrLinkLocal(action.dst, context.prefix)),
        'route is the prefix or default route',
      );
      invariant(action.metric >= 1024, 'route metric');
    }
  }
  return outcome;
}

export function ipcMessageTarget(): FuzzTarget<string> {
  return {
    name: 'ipc-engine-message',
    codec: TEXT_CODEC,
    seeds: () => ENGINE_MESSAGE_SEEDS,
    mutate: (seed, random) => mutateJson(seed, random),
    run(text): string {
      let raw: unknown;
      try {
        raw = JSON.parse(text);
      } catch {
        return 'json';
      }
      return judge(raw);
    },
  };
}

/** One frame of `text`: its 4-byte big-endian length, then its UTF-8 bytes. */
export function frameOf(text: string): Uint8Array {
  const payload = new TextEncoder().encode(text);
  const frame = new Uint8Array(FRAME_HEADER_BYTES + payload.length);
  new DataView(frame.buffer).setUint32(0, payload.length);
  frame.set(payload, FRAME_HEADER_BYTES);
  return frame;
}

/**
 * The byte stream an engine writes, cut into chunks at points the input's first byte chooses
 * (the socket may deliver any split), through one decoder.
 */
export function ipcFramesTarget(): FuzzTarget<Uint8Array> {
  return {
    name: 'ipc-frames',
    codec: BYTES_CODEC,
    seeds: () => [
      Uint8Array.from([7, ...ENGINE_MESSAGE_SEEDS.flatMap((seed) => [...frameOf(seed)])]),
      Uint8Array.from([
        1,
        ...frameOf(ENGINE_MESSAGE_SEEDS[1] ?? '{}'),
        ...frameOf(ENGINE_MESSAGE_SEEDS[0] ?? '{}'),
      ]),
    ],
    mutate: (seed, random, corpus) => mutateBytes(seed, random, corpus),
    run(input): string {
      const decoder = createFrameDecoder();
      const step = 1 + ((input[0] ?? 0) % 64);
      let outcome = '';
      let ended = false;
      for (let at = 1; at < input.length; at += step) {
        const events = decoder.push(input.subarray(at, Math.min(input.length, at + step)));
        invariant(decoder.buffered <= FRAME_HEADER_BYTES + MAX_FRAME_BYTES, `${decoder.buffered} bytes held`);
        for (const event of events) {
          invariant(!ended, 'nothing after a violation');
          if (event.kind === 'violation') {
            ended = true;
            outcome += `V${event.violation.kind}`;
          } else outcome += `M${judge(event.value)}`;
        }
      }
      invariant(decoder.failed === ended, 'the decoder reports its violation');
      return outcome.slice(0, 120);
    },
  };
}
