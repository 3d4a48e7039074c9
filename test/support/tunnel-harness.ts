/**
 * Test data and doubles for the tunnel daemon tests (control plane, fast path, interface
 * requests). Imports only: no tests here.
 */
import { encodeTeredoAddress, parseIPv6 } from '../../src/teredo/address.js';
import { writeIPv6Header } from '../../src/teredo/ipv6-header.js';
import {
  buildRouterAdvertisement,
  routerAdvertisementLength,
} from '../../src/teredo/router-advertisement.js';
import { clientLinkLocal } from '../../src/teredo/address.js';
import type { TunnelClock, TunnelTimers } from '../../src/engine/tunnel-clock.js';
import type { TunnelIo } from '../../src/engine/tunnel-output.js';

export function address(text: string): Uint8Array {
  const bytes = parseIPv6(text);
  if (bytes === null) throw new Error(`bad IPv6 literal ${text}`);
  return bytes;
}

export const PREFIX = 0x20010000;
export const TEREDO_PORT = 3544;
export const SERVER_IPV4 = 0xc6336401; // 198.51.100.1
export const SERVER_TEXT = '198.51.100.1';
export const MAPPED_IPV4 = 0xcb007105; // 203.0.113.5
export const MAPPED_PORT = 40000;
/** Our address with flags 0 (the control plane picks random flags; the fast path does not care). */
export const CLIENT_ADDRESS = encodeTeredoAddress({
  prefix: PREFIX,
  server: SERVER_IPV4,
  flags: 0,
  port: MAPPED_PORT,
  client: MAPPED_IPV4,
});
/** A Teredo peer: server 192.0.2.1, mapped 203.0.113.77:50000. */
export const PEER_IPV4 = 0xcb00714d;
export const PEER_PORT = 50000;
export const PEER_ADDRESS = encodeTeredoAddress({
  prefix: PREFIX,
  server: 0xc0000201,
  flags: 0x0123,
  port: PEER_PORT,
  client: PEER_IPV4,
});
/** A Teredo address whose server is not global (10.0.0.1). */
export const BAD_SERVER_PEER = encodeTeredoAddress({
  prefix: PREFIX,
  server: 0x0a000001,
  flags: 0,
  port: 1000,
  client: PEER_IPV4,
});
export const NATIVE_HOST = address('2001:db8::1');
export const RELAY_IPV4 = 0xc6336465; // 198.51.100.101
export const RELAY_PORT = 3545;

export interface PacketFields {
  readonly source: Uint8Array;
  readonly destination: Uint8Array;
  readonly nextHeader?: number;
  readonly payload?: Uint8Array;
  readonly hopLimit?: number;
}

/** A whole IPv6 packet. */
export function ipv6Packet(fields: PacketFields): Uint8Array {
  const payload = fields.payload ?? Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);
  const packet = new Uint8Array(40 + payload.length);
  writeIPv6Header(packet, 0, {
    payloadLength: payload.length,
    nextHeader: fields.nextHeader ?? 17,
    hopLimit: fields.hopLimit ?? 64,
    source: fields.source,
    destination: fields.destination,
  });
  packet.set(payload, 40);
  return packet;
}

/** The Router Advertisement a server sends in answer to an RS with `nonce`. */
export function routerAdvertisement(
  nonce: Uint8Array,
  mtu = 1280,
  mappedIPv4 = MAPPED_IPV4,
  mappedPort = MAPPED_PORT,
): Uint8Array {
  const fields = {
    nonce,
    originIPv4: mappedIPv4,
    originPort: mappedPort,
    destination: clientLinkLocal(false),
    serverIPv4: SERVER_IPV4,
    prefix: PREFIX,
    mtu,
  };
  const out = new Uint8Array(routerAdvertisementLength(fields));
  buildRouterAdvertisement(out, 0, fields);
  return out;
}

export type Sent =
  | { readonly kind: 'udp'; readonly bytes: Uint8Array; readonly ipv4: number; readonly port: number }
  | { readonly kind: 'tun'; readonly bytes: Uint8Array };

/** A TunnelIo that records copies; `fail` makes every call report failure. */
export class RecordingIo implements TunnelIo {
  readonly sent: Sent[] = [];
  fail = false;

  sendUdp(bytes: Uint8Array, offset: number, length: number, ipv4: number, port: number): boolean {
    this.sent.push({ kind: 'udp', bytes: bytes.slice(offset, offset + length), ipv4, port });
    return !this.fail;
  }

  writeTun(bytes: Uint8Array, offset: number, length: number): boolean {
    this.sent.push({ kind: 'tun', bytes: bytes.slice(offset, offset + length) });
    return !this.fail;
  }

  take(): Sent[] {
    return this.sent.splice(0, this.sent.length);
  }
}

interface FakeTimer {
  readonly id: number;
  due: number;
  readonly every: number | null;
  readonly callback: () => void;
}

/** A manual clock with timers that fire only when advanced. */
export class FakeTime implements TunnelClock, TunnelTimers {
  nowMs = 5_000_000;
  wall = 1_700_000_000;
  private nextId = 1;
  private readonly timers = new Map<number, FakeTimer>();

  now(): number {
    return this.nowMs;
  }

  wallSeconds(): number {
    return this.wall + Math.floor(this.nowMs / 1000);
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.set(id, { id, due: this.nowMs + ms, every: null, callback });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  setInterval(callback: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.set(id, { id, due: this.nowMs + ms, every: ms, callback });
    return id;
  }

  clearInterval(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  pending(): number {
    return this.timers.size;
  }

  /** Moves the clock to now + ms, firing every timer due on the way, in order. */
  advance(ms: number): void {
    const end = this.nowMs + ms;
    for (;;) {
      let next: FakeTimer | undefined;
      for (const timer of this.timers.values()) {
        if (timer.due <= end && (next === undefined || timer.due < next.due)) next = timer;
      }
      if (next === undefined) break;
      this.nowMs = Math.max(this.nowMs, next.due);
      if (next.every === null) this.timers.delete(next.id);
      else next.due += next.every;
      next.callback();
    }
    this.nowMs = end;
  }
}
