/**
 * A TCP echo pair for the tunnel tests, run inside the lab's namespaces:
 *
 *   node tcp-echo.js serve <address> <port>      echoes every connection, prints "listening"
 *   node tcp-echo.js send <address> <port> <n>   sends n random bytes, reads the echo, prints
 *                                                a JSON line {bytes, identical, ms}
 *
 * Loaded without those arguments (as the test runner does with every file here) it does nothing.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createConnection, createServer } from 'node:net';

const CHUNK = 64 * 1024;

function serve(host: string, port: number): void {
  const server = createServer({ allowHalfOpen: true }, (socket) => socket.pipe(socket));
  server.listen(port, host, () => process.stdout.write('listening\n'));
}

function send(host: string, port: number, total: number): void {
  const payload = randomBytes(total);
  const sent = createHash('sha256').update(payload).digest('hex');
  const received = createHash('sha256');
  let count = 0;
  const started = Date.now();
  const socket = createConnection({ host, port, allowHalfOpen: true }, () => {
    for (let at = 0; at < total; at += CHUNK) socket.write(payload.subarray(at, Math.min(total, at + CHUNK)));
    socket.end();
  });
  socket.on('data', (chunk: Buffer) => {
    count += chunk.length;
    received.update(chunk);
  });
  socket.on('end', () => {
    const identical = count === total && received.digest('hex') === sent;
    process.stdout.write(`${JSON.stringify({ bytes: count, identical, ms: Date.now() - started })}\n`);
    process.exit(identical ? 0 : 1);
  });
  socket.on('error', (error) => {
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  });
}

const [mode, host, portText, bytesText] = process.argv.slice(2);
if (mode === 'serve' && host !== undefined) serve(host, Number(portText));
else if (mode === 'send' && host !== undefined) send(host, Number(portText), Number(bytesText));
