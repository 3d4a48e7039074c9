/**
 * The port mapper against fake gateways on loopback (real sockets, the gateway's ports moved):
 * a good PCP gateway maps, renews, notices a lost table by its epoch and deletes on stop; hostile
 * PCP, NAT-PMP and UPnP gateways (malformed, oversized, foreign and lying answers) cause no crash
 * and no mapping, and qualification is released within the wait.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import type { RemoteInfo, Socket } from 'node:dgram';
import { createServer } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import { once } from 'node:events';
import { readU32, writeU16, writeU32 } from '../../../src/teredo/bytes.js';
import { createPortMapper, PORT_MAPPING_MESSAGES } from '../../../src/engine/port-mapper.js';
import { SYSTEM_CLOCK, SYSTEM_TIMERS } from '../../../src/engine/tunnel-clock.js';
import { parseDefaultGateway } from '../../../src/os/gateway-route.js';
import { captureLog } from '../../support/fakes.js';

type Answer = (request: Buffer, from: RemoteInfo) => readonly Uint8Array[];

async function fakeUdp(answer: Answer): Promise<{ socket: Socket; port: number; requests: Buffer[] }> {
  const socket = createSocket('udp4');
  const requests: Buffer[] = [];
  socket.on('message', (request, from) => {
    requests.push(request);
    for (const reply of answer(request, from)) socket.send(reply, from.port, from.address);
  });
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  return { socket, port: socket.address().port, requests };
}

/** A PCP MAP success for `request`, with `epoch` and `lifetime` (port = internal + 10000). */
function pcpSuccess(request: Buffer, epoch: number): Uint8Array {
  const reply = new Uint8Array(request);
  reply[1] = 0x81;
  reply[3] = 0;
  writeU32(reply, 8, epoch);
  reply.fill(0, 12, 24);
  const internal = (request[40]! << 8) | request[41]!;
  const lifetime = readU32(reply, 4);
  writeU32(reply, 4, lifetime === 0 ? 0 : 3);
  writeU16(reply, 42, lifetime === 0 ? 0 : internal + 10000);
  writeU32(reply, 56, 0x0b000001);
  return reply;
}

function mapper(
  natPmpPort: number,
  options: { mode?: 'auto' | 'pcp' | 'natpmp' | 'upnp'; ssdpPort?: number } = {},
) {
  const { log, records } = captureLog();
  const portMapper = createPortMapper({
    mode: options.mode ?? 'pcp',
    target: { gateway: '127.0.0.1', natPmpPort, ssdpPort: options.ssdpPort ?? natPmpPort },
    internalPort: 20001,
    lifetimeSeconds: 3,
    clock: SYSTEM_CLOCK,
    timers: SYSTEM_TIMERS,
    log,
  });
  const settled = new Promise<number>((resolve) => {
    const started = performance.now();
    portMapper.start(1000, () => resolve(performance.now() - started));
  });
  const logged = (msg: string): Array<Record<string, unknown>> =>
    records.filter((record) => record.msg === msg);
  return { portMapper, settled, records, logged };
}

test('PCP: mapped before qualification, renewed at half its lifetime, a lost table noticed, deleted on stop', async () => {
  let epoch = 1000;
  const gateway = await fakeUdp((request) => [pcpSuccess(request, epoch)]);
  const { portMapper, settled, logged } = mapper(gateway.port);
  try {
    assert.ok((await settled) < 500);
    assert.deepEqual(portMapper.status(), {
      protocol: 'pcp',
      externalAddress: '11.0.0.1',
      externalPort: 30001,
      internalPort: 20001,
      lifetime: 3,
      expiresInSeconds: 3,
    });
    assert.equal(logged(PORT_MAPPING_MESSAGES.created).length, 1);
    // The gateway restarts: its epoch starts again from 0.
    epoch = 0;
    while (logged(PORT_MAPPING_MESSAGES.recreated).length === 0) await new Promise((r) => setTimeout(r, 100));
    assert.ok(gateway.requests.length >= 2);
    assert.notEqual(portMapper.mapping, null);
    await portMapper.stop();
    const last = gateway.requests.at(-1)!;
    assert.equal(readU32(last, 4), 0, 'the last request deletes (lifetime 0)');
    assert.deepEqual(last.subarray(24, 36), gateway.requests[0]!.subarray(24, 36), 'with the same nonce');
    assert.equal(logged(PORT_MAPPING_MESSAGES.removed)[0]?.confirmed, true);
    assert.equal(portMapper.mapping, null);
  } finally {
    gateway.socket.close();
  }
});

test('hostile PCP and NAT-PMP answers: no crash, no mapping, qualification released once both gave up', async () => {
  const hostile: Answer = (request) => {
    const good = pcpSuccess(request, 5);
    const wrongNonce = Uint8Array.from(good);
    wrongNonce[30] = (wrongNonce[30]! + 1) & 0xff;
    const oversized = new Uint8Array(1500);
    oversized.set(good);
    const natPmpZero = new Uint8Array(16);
    natPmpZero[1] = 129;
    return [
      new Uint8Array(0),
      Uint8Array.of(2),
      good.subarray(0, 30),
      wrongNonce,
      oversized,
      natPmpZero,
      new Uint8Array(4000).fill(0xff),
    ];
  };
  const gateway = await fakeUdp(hostile);
  const { portMapper, settled, logged } = mapper(gateway.port, { mode: 'auto' });
  try {
    const elapsed = await settled;
    assert.ok(elapsed <= 1100, `settled after ${elapsed} ms`);
    await portMapper.stop();
    assert.equal(portMapper.mapping, null);
    assert.equal(logged(PORT_MAPPING_MESSAGES.created).length, 0);
  } finally {
    gateway.socket.close();
  }
});

test('a gateway that speaks none of them (ICMP port unreachable) releases qualification at once', async () => {
  const closed = await fakeUdp(() => []);
  const port = closed.port;
  closed.socket.close();
  const { portMapper, settled, logged } = mapper(port, { mode: 'auto' });
  assert.ok((await settled) < 300);
  await portMapper.stop();
  assert.deepEqual(
    Object.keys(logged(PORT_MAPPING_MESSAGES.none)[0] ?? {}).filter((k) =>
      ['pcp', 'natpmp', 'upnp'].includes(k),
    ),
    ['pcp', 'natpmp', 'upnp'],
  );
});

async function fakeHttp(body: (path: string) => string): Promise<Server> {
  const server = createServer((socket) => {
    let request = '';
    socket.on('data', (chunk) => {
      request += chunk.toString('latin1');
      if (request.includes('\r\n\r\n')) socket.end(body(request.split(' ')[1] ?? ''));
    });
    socket.on('error', () => undefined);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

test('hostile UPnP gateways: a description elsewhere, oversized or chunked answers, a SOAP fault: no mapping', async () => {
  const cases: Array<(port: number) => string> = [
    () => 'HTTP/1.1 200 OK\r\nContent-Length: 999999\r\n\r\n' + 'x'.repeat(70_000),
    () => 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n<root></root>',
    () =>
      'HTTP/1.1 200 OK\r\n\r\n<service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType>' +
      '<controlURL>http://10.66.0.1:80/ctl</controlURL></service>',
  ];
  for (const [index, reply] of cases.entries()) {
    const http = await fakeHttp(() => reply(0));
    const httpPort = (http.address() as AddressInfo).port;
    const ssdp = await fakeUdp(() => [
      new TextEncoder().encode(
        `HTTP/1.1 200 OK\r\nLOCATION: http://127.0.0.1:${httpPort}/rootDesc.xml\r\n\r\n`,
      ),
    ]);
    const { portMapper, settled, logged } = mapper(1, { mode: 'upnp', ssdpPort: ssdp.port });
    try {
      await settled;
      await portMapper.stop();
      assert.equal(portMapper.mapping, null, `case ${index}`);
      assert.equal(logged(PORT_MAPPING_MESSAGES.none).length, 1, `case ${index}`);
    } finally {
      ssdp.socket.close();
      http.close();
    }
  }
});

test('UPnP: a well-behaved IGD maps the port with AddPortMapping and deletes it on stop', async () => {
  const soapCalls: string[] = [];
  const description =
    '<root><device><serviceList><service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType>' +
    '<controlURL>/ctl/IPConn</controlURL></service></serviceList></device></root>';
  const http = await fakeHttp((path) => {
    if (path === '/rootDesc.xml')
      return `HTTP/1.1 200 OK\r\nContent-Length: ${description.length}\r\n\r\n${description}`;
    soapCalls.push(path);
    const body =
      '<s:Envelope><s:Body><u:R><NewExternalIPAddress>11.0.0.1</NewExternalIPAddress></u:R></s:Body></s:Envelope>';
    return `HTTP/1.1 200 OK\r\n\r\n${body}`;
  });
  const httpPort = (http.address() as AddressInfo).port;
  const ssdp = await fakeUdp(() => [
    new TextEncoder().encode(
      `HTTP/1.1 200 OK\r\nLOCATION: http://127.0.0.1:${httpPort}/rootDesc.xml\r\n\r\n`,
    ),
  ]);
  const { portMapper, settled } = mapper(1, { mode: 'upnp', ssdpPort: ssdp.port });
  try {
    await settled;
    assert.equal(portMapper.status()?.externalPort, 20001);
    assert.equal(portMapper.status()?.externalAddress, '11.0.0.1');
    await portMapper.stop();
    assert.deepEqual(soapCalls, ['/ctl/IPConn', '/ctl/IPConn', '/ctl/IPConn']);
  } finally {
    ssdp.socket.close();
    http.close();
  }
});

test('the default gateway from /proc/net/route', () => {
  const table =
    'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n' +
    'eth0\t0002000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n' +
    'eth0\t00000000\t0100000A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n';
  assert.equal(parseDefaultGateway(table), 0x0a000001);
  assert.equal(parseDefaultGateway(table.split('\n').slice(0, 2).join('\n')), null);
});
