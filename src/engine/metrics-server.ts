/**
 * The optional metrics listener (MetricsListen): the bootstrap opened the TCP socket, the engine
 * serves `GET /metrics` on it in the Prometheus text format, and nothing else (404, 405). Small
 * limits: 8 KiB of headers, 5 s for a request, 8 connections, no body read.
 */
import { createServer } from 'node:http';
import type { Logger } from '../log/logger.js';
import { PROMETHEUS_CONTENT_TYPE } from '../ipc/prometheus.js';
import { CONTROL_TIMEOUT_MS, listenOn } from './control-server.js';
import type { Listening } from './control-server.js';

export const MAX_METRICS_HEADER_BYTES = 8192;

export function serveMetrics(fd: number, render: () => Promise<string>, log: Logger): Listening {
  const server = createServer(
    {
      maxHeaderSize: MAX_METRICS_HEADER_BYTES,
      requestTimeout: CONTROL_TIMEOUT_MS,
      headersTimeout: CONTROL_TIMEOUT_MS,
      keepAliveTimeout: CONTROL_TIMEOUT_MS,
    },
    (request, response) => {
      const path = (request.url ?? '').split('?')[0];
      if (path !== '/metrics') {
        response.writeHead(404, { 'content-type': 'text/plain' }).end('Not found: try /metrics\n');
        return;
      }
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end();
        return;
      }
      render().then(
        (text) => {
          response.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE });
          response.end(request.method === 'HEAD' ? undefined : text);
        },
        (error: unknown) => {
          log.error('Metrics failed: %s', error instanceof Error ? error.message : String(error));
          response.writeHead(500).end();
        },
      );
    },
  );
  server.setTimeout(CONTROL_TIMEOUT_MS, (socket) => socket.destroy());
  return listenOn(server, fd, 'Metrics listener', log);
}
