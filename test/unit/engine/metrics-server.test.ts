/**
 * The metrics listener (src/engine/metrics-server.ts) on a TCP socket from src/os/listeners.ts:
 * GET /metrics answers the Prometheus text, anything else 404 or 405, oversized headers 431.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { openTcpListener } from '../../../src/os/listeners.js';
import { localPort } from '../../../src/os/udp.js';
import { serveMetrics } from '../../../src/engine/metrics-server.js';
import type { Listening } from '../../../src/engine/control-server.js';
import { PROMETHEUS_CONTENT_TYPE } from '../../../src/ipc/prometheus.js';
import { captureLog } from '../../support/fakes.js';

let port = 0;
let server: Listening | undefined;
const TEXT = '# HELP miredo_peers Peers.\n# TYPE miredo_peers gauge\nmiredo_peers 3\n';

before(() => {
  const fd = openTcpListener('127.0.0.1', 0);
  port = localPort(fd);
  server = serveMetrics(fd, () => Promise.resolve(TEXT), captureLog().log);
});

after(() => server?.close());

function get(
  path: string,
  method = 'GET',
  headers: Record<string, string> = {},
): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

test('GET /metrics: the text, with the exposition format content type', async () => {
  assert.deepEqual(await get('/metrics'), { status: 200, type: PROMETHEUS_CONTENT_TYPE, body: TEXT });
  assert.equal((await get('/metrics?x=1')).status, 200);
});

test('other paths 404, other methods 405, oversized headers 431', async () => {
  assert.equal((await get('/')).status, 404);
  assert.equal((await get('/metrics', 'POST')).status, 405);
  assert.equal((await get('/metrics', 'GET', { 'x-big': 'a'.repeat(16 * 1024) })).status, 431);
  assert.equal((await get('/metrics')).status, 200, 'still serving');
});
