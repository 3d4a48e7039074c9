/**
 * A legitimate Teredo client's first step, reduced to what a flood test needs: a UDP socket
 * sends a Router Solicitation with a fresh nonce to the server, resends it every `resendMs`
 * until a Router Advertisement echoing that nonce arrives (checked with the core's
 * parseTeredoPayload and parseRouterAdvertisement), or the deadline passes.
 */
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { bytesEqual } from '../../src/teredo/bytes.js';
import { TEREDO_CONSTANTS, WIRE_SIZE } from '../../src/teredo/constants.js';
import { formatIPv4, parseIPv4 } from '../../src/teredo/ipv4.js';
import {
  createRouterAdvertisement,
  parseRouterAdvertisement,
} from '../../src/teredo/router-advertisement.js';
import {
  buildRouterSolicitation,
  ROUTER_SOLICITATION_DATAGRAM_BYTES,
} from '../../src/teredo/router-solicitation.js';
import { createTeredoPayload, parseTeredoPayload } from '../../src/teredo/wire.js';

export interface ProbeOptions {
  /** Dotted IPv4 of the server. */
  readonly server: string;
  readonly port?: number;
  readonly timeoutMs: number;
  readonly resendMs?: number;
}

interface ProbeCommon {
  /** Milliseconds from the first RS to the RA, or to the deadline. */
  readonly ms: number;
  readonly attempts: number;
  /** Datagrams that were not the RA we wait for. */
  readonly ignored: number;
  /** Wall-clock epoch milliseconds. */
  readonly firstSentAt: number;
}

export type ProbeResult =
  | (ProbeCommon & {
      readonly ok: true;
      readonly answeredAt: number;
      /** The RA's contents: the Teredo prefix (32 bits, hex), server, MTU and our mapping. */
      readonly prefix: string;
      readonly serverIPv4: string;
      readonly mtu: number;
      readonly originIPv4: string;
      readonly originPort: number;
    })
  | (ProbeCommon & { readonly ok: false; readonly reason: string });

export interface RsProbe {
  readonly localPort: number;
  /** Runs one probe (a fresh nonce each time). */
  run(options: ProbeOptions): Promise<ProbeResult>;
  close(): void;
}

export async function openRsProbe(bindAddress?: string): Promise<RsProbe> {
  const socket = createSocket('udp4');
  socket.bind(0, bindAddress);
  await once(socket, 'listening');
  return {
    localPort: socket.address().port,
    run: (options) => runProbe(socket, options),
    close: () => socket.close(),
  };
}

function runProbe(socket: Socket, options: ProbeOptions): Promise<ProbeResult> {
  const server = parseIPv4(options.server);
  if (server === null) throw new Error(`not a dotted IPv4 address: ${options.server}`);
  const port = options.port ?? TEREDO_CONSTANTS.port;
  const nonce = randomBytes(WIRE_SIZE.nonce);
  const rs = new Uint8Array(ROUTER_SOLICITATION_DATAGRAM_BYTES);
  buildRouterSolicitation(rs, 0, { nonce });
  const payload = createTeredoPayload();
  const ra = createRouterAdvertisement();

  return new Promise((resolve) => {
    const start = performance.now();
    const firstSentAt = Date.now();
    let attempts = 0;
    let ignored = 0;
    const elapsed = (): number => Math.round((performance.now() - start) * 10) / 10;
    const finish = (result: ProbeResult): void => {
      clearInterval(resend);
      clearTimeout(deadline);
      socket.off('message', onMessage);
      resolve(result);
    };
    const send = (): void => {
      attempts++;
      // A send error (no route yet, say) is just a lost attempt: the next resend tries again.
      socket.send(rs, port, options.server, () => undefined);
    };
    const onMessage = (message: Buffer): void => {
      const bytes = new Uint8Array(message.buffer, message.byteOffset, message.byteLength);
      const isOurs =
        parseTeredoPayload(bytes, bytes.length, payload) === 'ok' &&
        payload.hasAuth &&
        bytesEqual(bytes, payload.nonceOffset, nonce, 0, WIRE_SIZE.nonce) &&
        parseRouterAdvertisement(bytes, payload, ra) === 'ok' &&
        ra.serverIPv4 === server;
      if (!isOurs) {
        ignored++;
        return;
      }
      finish({
        ok: true,
        ms: elapsed(),
        attempts,
        ignored,
        firstSentAt,
        answeredAt: Date.now(),
        prefix: ra.prefix.toString(16).padStart(8, '0'),
        serverIPv4: formatIPv4(ra.serverIPv4),
        mtu: ra.mtu,
        originIPv4: formatIPv4(ra.originIPv4),
        originPort: ra.originPort,
      });
    };
    socket.on('message', onMessage);
    const resend = setInterval(send, options.resendMs ?? 250);
    const deadline = setTimeout(
      () =>
        finish({
          ok: false,
          ms: elapsed(),
          attempts,
          ignored,
          firstSentAt,
          reason: 'no RA before the deadline',
        }),
      options.timeoutMs,
    );
    send();
  });
}
