/** Crafted datagrams and a harness for the Teredo server tests. */
import { encodeTeredoAddress, serverLinkLocal } from '../../../src/teredo/address.js';
import { NEXT_HEADER, TEREDO_CONSTANTS } from '../../../src/teredo/constants.js';
import { buildBubble, buildEcho, fillIcmpv6Checksum } from '../../../src/teredo/icmpv6.js';
import { writeIPv6Header } from '../../../src/teredo/ipv6-header.js';
import { createServerAction, SERVER_MAX_OUTPUT_BYTES } from '../../../src/teredo/server.js';
import type { ServerAction, ServerParams, ServerProcessor } from '../../../src/teredo/server.js';
import { SERVER_COUNTER_NAMES } from '../../../src/teredo/server-counters.js';
import type { ServerCounterName } from '../../../src/teredo/server-counters.js';
import { writeAuthHeader, writeOriginIndication } from '../../../src/teredo/wire.js';
import type { AuthHeaderFields } from '../../../src/teredo/wire.js';
import { address, MAPPED_IPV4, MAPPED_PORT } from './fixtures.js';

export const PRIMARY = 0xc6336401; // 198.51.100.1
export const SECONDARY = 0xc6336402; // 198.51.100.2
export const OTHER_SERVER = 0xc0000201; // 192.0.2.1
export const CLIENT_IPV4 = MAPPED_IPV4; // 203.0.113.5
export const CLIENT_PORT = MAPPED_PORT;
export const PREFIX = TEREDO_CONSTANTS.prefix;
export const SERVER_LL = serverLinkLocal(PRIMARY);
export const ALL_ROUTERS = address('ff02::2');
export const NATIVE = address('2001:db8::1');
export const NATIVE_PEER_IPV4 = 0xcb007163; // 203.0.113.99, the outer source of a relay
export const NATIVE_PEER_PORT = 3545;

export interface TeredoAddressOptions {
  readonly server?: number;
  readonly flags?: number;
  readonly port?: number;
  readonly client?: number;
  readonly prefix?: number;
}

/** A Teredo address, by default our client 203.0.113.5:40000 served by PRIMARY. */
export function teredo(options: TeredoAddressOptions = {}): Uint8Array {
  return encodeTeredoAddress({
    prefix: options.prefix ?? PREFIX,
    server: options.server ?? PRIMARY,
    flags: options.flags ?? 0,
    port: options.port ?? CLIENT_PORT,
    client: options.client ?? CLIENT_IPV4,
  });
}

export const CLIENT = teredo();
/** Another client of ours, 192.0.2.77:50000. */
export const OTHER_CLIENT = teredo({ client: 0xc000024d, port: 50000 });

function sized(write: (out: Uint8Array) => number): Uint8Array {
  const out = new Uint8Array(70_000);
  return out.slice(0, write(out));
}

export interface PacketOptions {
  readonly source: Uint8Array;
  readonly destination: Uint8Array;
  readonly nextHeader: number;
  readonly payload?: Uint8Array;
  readonly hopLimit?: number;
  /** Overrides the header's payload length (to make it lie). */
  readonly payloadLength?: number;
}

export function ipv6Packet(options: PacketOptions): Uint8Array {
  const payload = options.payload ?? new Uint8Array(0);
  return sized((out) => {
    writeIPv6Header(out, 0, {
      payloadLength: options.payloadLength ?? payload.length,
      nextHeader: options.nextHeader,
      hopLimit: options.hopLimit ?? 64,
      source: options.source,
      destination: options.destination,
    });
    out.set(payload, 40);
    return 40 + payload.length;
  });
}

/** An ICMPv6 Echo Request whose ICMPv6 part is 8 + dataLength bytes. */
export function echoRequest(
  source: Uint8Array,
  destination: Uint8Array,
  dataLength = 10,
  hopLimit = 64,
): Uint8Array {
  const data = Uint8Array.from({ length: dataLength }, (_, i) => (i * 7 + 1) & 0xff);
  return sized((out) =>
    buildEcho(out, 0, {
      kind: 'request',
      source,
      destination,
      hopLimit,
      identifier: 0x4242,
      sequence: 7,
      data,
    }),
  );
}

export function bubble(source: Uint8Array, destination: Uint8Array): Uint8Array {
  return sized((out) => buildBubble(out, 0, { source, destination }));
}

export interface SolicitationOptions {
  readonly source?: Uint8Array;
  readonly destination?: Uint8Array;
  readonly type?: number;
  readonly code?: number;
  /** ICMPv6 bytes after the type/code/checksum head (4 reserved zero bytes by default). */
  readonly body?: Uint8Array;
}

/** An IPv6 Router Solicitation, by default fe80::ffff:ffff:ffff -> ff02::2 (no Teredo framing). */
export function solicitation(options: SolicitationOptions = {}): Uint8Array {
  const body = options.body ?? new Uint8Array(4);
  const message = new Uint8Array(4 + body.length);
  message[0] = options.type ?? 133;
  message[1] = options.code ?? 0;
  message.set(body, 4);
  const packet = ipv6Packet({
    source: options.source ?? address('fe80::ffff:ffff:ffff'),
    destination: options.destination ?? ALL_ROUTERS,
    nextHeader: NEXT_HEADER.icmpv6,
    hopLimit: 255,
    payload: message,
  });
  fillIcmpv6Checksum(packet, 0);
  return packet;
}

export interface DatagramOptions {
  readonly auth?: AuthHeaderFields;
  readonly origin?: { readonly port: number; readonly ipv4: number };
  readonly trailer?: Uint8Array;
}

/** The UDP payload carrying `packet`: [auth] [origin indication] packet [trailer]. */
export function datagram(packet: Uint8Array, options: DatagramOptions = {}): Uint8Array {
  return sized((out) => {
    let at = 0;
    if (options.auth !== undefined) at += writeAuthHeader(out, at, options.auth);
    if (options.origin !== undefined) {
      at += writeOriginIndication(out, at, options.origin.port, options.origin.ipv4);
    }
    out.set(packet, at);
    at += packet.length;
    if (options.trailer !== undefined) out.set(options.trailer, at);
    return at + (options.trailer?.length ?? 0);
  });
}

export const NO_LIMIT = { perSecond: 0, burst: 1 } as const;

export function serverParams(overrides: Partial<ServerParams> = {}): ServerParams {
  return {
    primaryIPv4: PRIMARY,
    secondaryIPv4: SECONDARY,
    prefix: PREFIX,
    mtu: 1280,
    rsRateLimit: NO_LIMIT,
    forwardRateLimit: NO_LIMIT,
    ...overrides,
  };
}

export interface Sent {
  readonly kind: 'drop' | 'udp' | 'raw';
  readonly counter: ServerCounterName;
  readonly socket: number;
  readonly ipv4: number;
  readonly port: number;
  /** The bytes written, out[outOffset, outOffset + length). */
  readonly bytes: Uint8Array;
}

export interface JudgeOptions {
  readonly from?: readonly [number, number];
  readonly arrivedOn?: number;
  readonly nowMs?: number;
}

const KINDS = ['drop', 'udp', 'raw'] as const;
const OUT_OFFSET = 5;
const FILL = 0xee;

/**
 * Runs one datagram (placed at an odd offset of a larger buffer, with junk around it) through
 * `processor` and returns what it decided. Throws if anything outside the announced output
 * bytes was written.
 */
export function judge(
  processor: ServerProcessor,
  bytes: Uint8Array,
  options: JudgeOptions = {},
  action: ServerAction = createServerAction(),
): Sent {
  const input = new Uint8Array(bytes.length + 20).fill(0x60);
  input.set(bytes, 3);
  const out = new Uint8Array(OUT_OFFSET + SERVER_MAX_OUTPUT_BYTES + 4).fill(FILL);
  const [ipv4, port] = options.from ?? [CLIENT_IPV4, CLIENT_PORT];
  processor.process(
    input,
    3,
    bytes.length,
    ipv4,
    port,
    options.arrivedOn ?? 0,
    options.nowMs ?? 1_000,
    out,
    OUT_OFFSET,
    action,
  );
  const kind = KINDS[action.kind];
  const counter = SERVER_COUNTER_NAMES[action.counter];
  if (kind === undefined || counter === undefined) throw new Error(`bad action ${JSON.stringify(action)}`);
  for (let i = 0; i < out.length; i++) {
    if ((i < OUT_OFFSET || i >= OUT_OFFSET + action.length) && out[i] !== FILL) {
      throw new Error(`byte ${i} written outside the output`);
    }
  }
  return {
    kind,
    counter,
    socket: action.socket,
    ipv4: action.ipv4,
    port: action.port,
    bytes: out.slice(OUT_OFFSET, OUT_OFFSET + action.length),
  };
}

export function concat(...parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

export function originIndication(port: number, ipv4: number): Uint8Array {
  const out = new Uint8Array(8);
  writeOriginIndication(out, 0, port, ipv4);
  return out;
}
