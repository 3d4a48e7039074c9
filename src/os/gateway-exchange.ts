/**
 * The two ways the engine talks to its LAN gateway for port mapping: one UDP request and its
 * answer (NAT-PMP, PCP, SSDP; the socket is connected to the gateway, so the kernel drops any
 * other sender), and one HTTP exchange over TCP (UPnP's description and SOAP). Both are bounded
 * in time and size and never throw: a failure is a reason. The engine opens these sockets after
 * its chroot, as the unprivileged user: they need no privilege and no file.
 */
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';

export type ExchangeFailure = 'timeout' | 'refused' | 'too-long' | 'error';
export type ExchangeResult<T> =
  | { readonly ok: true; readonly value: T; readonly localAddress: string }
  | { readonly ok: false; readonly reason: ExchangeFailure };

export interface UdpExchange<T> {
  readonly gateway: string;
  readonly port: number;
  /** The request, built once the local address towards the gateway is known (PCP carries it). */
  readonly request: (localAddress: string) => Uint8Array;
  /** An answer's meaning, or null to keep waiting (malformed, or not for this request). */
  readonly judge: (answer: Uint8Array) => T | null;
  readonly timeoutMs: number;
  /** When to send again after the first (RFC 6886 section 3.1: 250 ms, then doubling). */
  readonly resendMs?: readonly number[];
}

export function udpExchange<T>(exchange: UdpExchange<T>): Promise<ExchangeResult<T>> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    const timers: NodeJS.Timeout[] = [];
    let done = false;
    const finish = (result: ExchangeResult<T>): void => {
      if (done) return;
      done = true;
      for (const timer of timers) clearTimeout(timer);
      socket.close();
      resolve(result);
    };
    socket.on('error', (error: NodeJS.ErrnoException) =>
      finish({ ok: false, reason: error.code === 'ECONNREFUSED' ? 'refused' : 'error' }),
    );
    socket.connect(exchange.port, exchange.gateway, () => {
      let localAddress: string;
      let request: Uint8Array;
      try {
        localAddress = socket.address().address;
        request = exchange.request(localAddress);
      } catch {
        finish({ ok: false, reason: 'error' });
        return;
      }
      const send = (): void => {
        if (!done) socket.send(request, (error) => error && finish({ ok: false, reason: 'error' }));
      };
      socket.on('message', (answer: Buffer) => {
        const value = exchange.judge(new Uint8Array(answer.buffer, answer.byteOffset, answer.length));
        if (value !== null) finish({ ok: true, value, localAddress });
      });
      send();
      for (const at of exchange.resendMs ?? [])
        if (at < exchange.timeoutMs) timers.push(setTimeout(send, at));
      timers.push(setTimeout(() => finish({ ok: false, reason: 'timeout' }), exchange.timeoutMs));
    });
  });
}

export interface TcpExchange {
  readonly host: string;
  readonly port: number;
  readonly request: Uint8Array;
  readonly timeoutMs: number;
  /** More than this many bytes: the answer is refused ('too-long') and the connection closed. */
  readonly maxBytes: number;
}

/** Sends `request`, reads until the gateway closes (the request says `Connection: close`). */
export function tcpExchange(exchange: TcpExchange): Promise<ExchangeResult<Uint8Array>> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let length = 0;
    let done = false;
    const socket = connect({ host: exchange.host, port: exchange.port });
    const finish = (result: ExchangeResult<Uint8Array>): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish({ ok: false, reason: 'timeout' }), exchange.timeoutMs);
    socket.on('error', (error: NodeJS.ErrnoException) =>
      finish({ ok: false, reason: error.code === 'ECONNREFUSED' ? 'refused' : 'error' }),
    );
    socket.on('connect', () => socket.write(exchange.request));
    socket.on('data', (chunk: Buffer) => {
      length += chunk.length;
      if (length > exchange.maxBytes) finish({ ok: false, reason: 'too-long' });
      else chunks.push(chunk);
    });
    socket.on('end', () => {
      const localAddress = socket.localAddress ?? '';
      finish({ ok: true, value: new Uint8Array(Buffer.concat(chunks, length)), localAddress });
    });
  });
}
