/**
 * A BGP session delayer, run by the lab inside a relay's namespace (bgp-delay-process.ts): the
 * relay's BIRD connects to the router's port 179, netfilter redirects that connection here, and
 * every byte from the relay reaches the router `delayMs` later (in order), while the router's
 * bytes come back at once. That is slow convergence: a withdrawal needs `delayMs` more to arrive.
 *
 * Usage: node bgp-delay.js LISTEN_PORT ROUTER_ADDRESS LOCAL_ADDRESS DELAY_MS
 * Prints "listening" once it accepts connections; runs until killed.
 */
import { createServer, connect } from 'node:net';
import type { Socket } from 'node:net';

function delayed(from: Socket, to: Socket, delayMs: number): void {
  let last = 0;
  from.on('data', (chunk) => {
    // Never earlier than the chunk before it: the stream stays in order.
    const at = Math.max(Date.now() + delayMs, last);
    last = at;
    setTimeout(() => to.write(chunk), at - Date.now());
  });
  from.on('close', () => setTimeout(() => to.destroy(), Math.max(0, last - Date.now())));
}

function main(argv: readonly string[]): void {
  const [portText, router, local, delayText] = argv;
  const port = Number(portText);
  const delayMs = Number(delayText);
  if (router === undefined || local === undefined || !(port > 0) || !(delayMs >= 0)) {
    process.stderr.write('usage: bgp-delay LISTEN_PORT ROUTER_ADDRESS LOCAL_ADDRESS DELAY_MS\n');
    process.exit(2);
  }
  const server = createServer((relay) => {
    const upstream = connect({ host: router, port: 179, localAddress: local });
    upstream.on('data', (chunk) => relay.write(chunk));
    upstream.on('close', () => relay.destroy());
    upstream.on('error', () => relay.destroy());
    relay.on('error', () => upstream.destroy());
    delayed(relay, upstream, delayMs);
  });
  server.listen({ host: '::1', port }, () => process.stdout.write('listening\n'));
}

main(process.argv.slice(2));
