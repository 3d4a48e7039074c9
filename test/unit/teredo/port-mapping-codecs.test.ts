/**
 * The port mapping codecs (NAT-PMP, PCP, UPnP IGD) against well-formed answers built by hand from
 * RFC 6886 / RFC 6887 / UPnP layouts, and against malformed, oversized and hostile ones: never a
 * throw, never a mapping, always a declared reason.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { writeU16, writeU32 } from '../../../src/teredo/bytes.js';
import { epochLost } from '../../../src/teredo/port-mapping.js';
import {
  natPmpMapRequest,
  parseNatPmpAddressReply,
  parseNatPmpMapReply,
} from '../../../src/teredo/port-mapping-natpmp.js';
import { parsePcpMapReply, pcpMapRequest, PCP_MAP_LENGTH } from '../../../src/teredo/port-mapping-pcp.js';
import type { PcpMapRequest } from '../../../src/teredo/port-mapping-pcp.js';
import {
  elementText,
  parseDescription,
  parseExternalAddress,
  parseGatewayUrl,
  parseHttpAnswer,
  parseSoapStatus,
  parseSsdpAnswer,
  soapRequest,
} from '../../../src/teredo/port-mapping-upnp.js';

const GATEWAY = '10.0.0.1';
const encode = (text: string): Uint8Array => new TextEncoder().encode(text);

function natPmpMapAnswer(
  internalPort: number,
  externalPort: number,
  lifetime: number,
  result = 0,
): Uint8Array {
  const reply = new Uint8Array(16);
  reply[1] = 129;
  writeU16(reply, 2, result);
  writeU32(reply, 4, 1234);
  writeU16(reply, 8, internalPort);
  writeU16(reply, 10, externalPort);
  writeU32(reply, 12, lifetime);
  return reply;
}

test('NAT-PMP: the MAP request is RFC 6886 section 3.3 byte for byte', () => {
  assert.deepEqual(
    [...natPmpMapRequest(3544, 3544, 7200)],
    [0, 1, 0, 0, 0x0d, 0xd8, 0x0d, 0xd8, 0, 0, 0x1c, 0x20],
  );
});

test('NAT-PMP: a good answer maps; each bad field is refused with its reason', () => {
  assert.deepEqual(parseNatPmpMapReply(natPmpMapAnswer(3544, 40000, 60), 3544), {
    ok: true,
    epoch: 1234,
    externalPort: 40000,
    lifetimeSeconds: 60,
  });
  const reason = (bytes: Uint8Array): string => {
    const parsed = parseNatPmpMapReply(bytes, 3544);
    assert.equal(parsed.ok, false);
    return parsed.ok ? '' : parsed.reason;
  };
  assert.equal(reason(natPmpMapAnswer(3544, 40000, 60).subarray(0, 15)), 'too-short');
  assert.equal(reason(new Uint8Array(2000)), 'too-long');
  assert.equal(reason(natPmpMapAnswer(3545, 40000, 60)), 'wrong-port');
  assert.equal(reason(natPmpMapAnswer(3544, 0, 60)), 'zero-port');
  assert.equal(reason(natPmpMapAnswer(3544, 40000, 0)), 'zero-lifetime');
  assert.equal(reason(natPmpMapAnswer(3544, 40000, 60, 3)), 'refused');
  const wrongVersion = natPmpMapAnswer(3544, 40000, 60);
  wrongVersion[0] = 2;
  assert.equal(reason(wrongVersion), 'bad-version');
  const request = natPmpMapAnswer(3544, 40000, 60);
  request[1] = 1;
  assert.equal(reason(request), 'not-a-reply');
  // Deleting: a zero port and lifetime are the expected answer.
  assert.equal(parseNatPmpMapReply(natPmpMapAnswer(3544, 0, 0), 3544, true).ok, true);
});

test('NAT-PMP: the external address answer', () => {
  const reply = new Uint8Array(12);
  reply[1] = 128;
  writeU32(reply, 8, 0x0b000001);
  assert.deepEqual(parseNatPmpAddressReply(reply), { ok: true, epoch: 0, externalIPv4: 0x0b000001 });
  assert.equal(parseNatPmpAddressReply(reply.subarray(0, 11)).ok, false);
});

const PCP_REQUEST: PcpMapRequest = {
  clientIPv4: 0x0a000002,
  internalPort: 20001,
  suggestedPort: 20001,
  lifetimeSeconds: 120,
  nonce: Uint8Array.from({ length: 12 }, (_, i) => i + 1),
};

function pcpAnswer(request: PcpMapRequest, externalPort: number, lifetime: number, result = 0): Uint8Array {
  const reply = pcpMapRequest(request);
  reply[1] = 0x81;
  reply[3] = result;
  writeU32(reply, 4, lifetime);
  writeU32(reply, 8, 99);
  reply.fill(0, 12, 24);
  writeU16(reply, 24 + 18, externalPort);
  writeU32(reply, 24 + 32, 0x0b000001);
  return reply;
}

test('PCP: the MAP request is RFC 6887 sections 7.1 and 11.1', () => {
  const bytes = pcpMapRequest(PCP_REQUEST);
  assert.equal(bytes.length, PCP_MAP_LENGTH);
  assert.deepEqual([...bytes.subarray(0, 8)], [2, 1, 0, 0, 0, 0, 0, 120]);
  assert.deepEqual([...bytes.subarray(8, 24)], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 2]);
  assert.deepEqual([...bytes.subarray(24, 36)], [...PCP_REQUEST.nonce]);
  assert.equal(bytes[36], 17);
  assert.deepEqual([...bytes.subarray(40, 44)], [0x4e, 0x21, 0x4e, 0x21]);
  assert.deepEqual([...bytes.subarray(44, 60)], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0]);
});

test('PCP: a good answer maps; a wrong nonce, port, protocol or address family is refused', () => {
  assert.deepEqual(parsePcpMapReply(pcpAnswer(PCP_REQUEST, 40001, 120), PCP_REQUEST), {
    ok: true,
    epoch: 99,
    externalIPv4: 0x0b000001,
    externalPort: 40001,
    lifetimeSeconds: 120,
  });
  const reason = (bytes: Uint8Array): string => {
    const parsed = parsePcpMapReply(bytes, PCP_REQUEST);
    return parsed.ok ? 'ok' : parsed.reason;
  };
  const good = (): Uint8Array => pcpAnswer(PCP_REQUEST, 40001, 120);
  const nonce = good();
  nonce[30] = 0xee;
  assert.equal(reason(nonce), 'wrong-nonce');
  const protocol = good();
  protocol[36] = 6;
  assert.equal(reason(protocol), 'wrong-protocol');
  const port = good();
  port[41] = 0x22;
  assert.equal(reason(port), 'wrong-port');
  const family = good();
  family[44] = 0x20;
  assert.equal(reason(family), 'not-ipv4');
  assert.equal(reason(good().subarray(0, 59)), 'too-short');
  assert.equal(reason(pcpAnswer(PCP_REQUEST, 40001, 120, 2)), 'refused');
  assert.equal(reason(pcpAnswer(PCP_REQUEST, 0, 120)), 'zero-port');
  // A NAT-PMP server answers a PCP request with its own version (RFC 6887 section 9).
  const natPmp = parsePcpMapReply(Uint8Array.of(0, 129, 0, 1, 0, 0, 0, 0), PCP_REQUEST);
  assert.deepEqual(natPmp, { ok: false, reason: 'unsupported-version', version: 0 });
  // Options after the payload are skipped; the datagram limit still holds.
  const withOptions = new Uint8Array(80);
  withOptions.set(good());
  assert.equal(reason(withOptions), 'ok');
  const huge = new Uint8Array(1200);
  huge.set(good());
  assert.equal(reason(huge), 'too-long');
});

test('NAT-PMP and PCP: no random or mutated datagram throws or maps with a wrong port or nonce', () => {
  const base = [natPmpMapAnswer(3544, 40000, 60), pcpAnswer(PCP_REQUEST, 40001, 120)];
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 1300 }),
        fc
          .tuple(fc.constantFrom(...base), fc.array(fc.tuple(fc.nat(80), fc.nat(255)), { maxLength: 6 }))
          .map(([bytes, edits]) => {
            const copy = Uint8Array.from(bytes);
            for (const [at, value] of edits) if (at < copy.length) copy[at] = value;
            return copy;
          }),
      ),
      (bytes) => {
        const pmp = parseNatPmpMapReply(bytes, 3544);
        if (pmp.ok) assert.ok(pmp.externalPort !== 0 && pmp.lifetimeSeconds !== 0 && bytes[9] === 0xd8);
        parseNatPmpAddressReply(bytes);
        const pcp = parsePcpMapReply(bytes, PCP_REQUEST);
        if (pcp.ok) assert.deepEqual([...bytes.subarray(24, 36)], [...PCP_REQUEST.nonce]);
      },
    ),
    { numRuns: 20000 },
  );
});

test('epoch: going backwards or lagging our own clock means the server lost its table', () => {
  assert.equal(epochLost(1000, 0, 1010, 10_000), false);
  assert.equal(epochLost(1000, 0, 5, 10_000), true);
  assert.equal(epochLost(1000, 0, 1001, 60_000), true);
});

const DESCRIPTION = `<?xml version="1.0"?><root xmlns="urn:schemas-upnp-org:device-1-0"><device>
<serviceList><service><serviceType>urn:schemas-upnp-org:service:Layer3Forwarding:1</serviceType>
<controlURL>/ctl/L3F</controlURL></service></serviceList><deviceList><device><deviceList><device>
<serviceList><service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType>
<serviceId>urn:upnp-org:serviceId:WANIPConn1</serviceId><controlURL>/ctl/IPConn</controlURL>
</service></serviceList></device></deviceList></device></deviceList></device></root>`;
const LOCATION = { host: GATEWAY, port: 5000, path: '/rootDesc.xml' };

test('UPnP: the SSDP answer gives the description on the gateway, never elsewhere', () => {
  const answer = (location: string): ReturnType<typeof parseSsdpAnswer> =>
    parseSsdpAnswer(
      encode(`HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\nLocation: ${location}\r\n\r\n`),
      GATEWAY,
    );
  assert.deepEqual(answer('http://10.0.0.1:5000/rootDesc.xml'), { ok: true, value: LOCATION });
  assert.deepEqual(answer('http://10.0.0.9:5000/rootDesc.xml'), { ok: false, reason: 'not-the-gateway' });
  assert.deepEqual(answer('http://router.example:5000/'), { ok: false, reason: 'bad-url' });
  assert.deepEqual(answer('https://10.0.0.1/'), { ok: false, reason: 'bad-url' });
  assert.deepEqual(answer('http://user@10.0.0.1/'), { ok: false, reason: 'bad-url' });
  assert.deepEqual(answer('http://10.0.0.1:99999/'), { ok: false, reason: 'bad-url' });
  assert.deepEqual(parseSsdpAnswer(encode('HTTP/1.1 404 Nope\r\n\r\n'), GATEWAY), {
    ok: false,
    reason: 'not-http-200',
  });
  assert.deepEqual(parseSsdpAnswer(encode('HTTP/1.1 200 OK\r\n\r\n'), GATEWAY), {
    ok: false,
    reason: 'no-location',
  });
  assert.deepEqual(parseSsdpAnswer(new Uint8Array(5000), GATEWAY), { ok: false, reason: 'too-long' });
});

test('UPnP: the description gives the WANIPConnection control URL on the gateway', () => {
  assert.deepEqual(parseDescription(DESCRIPTION, GATEWAY, LOCATION), {
    ok: true,
    value: {
      serviceType: 'urn:schemas-upnp-org:service:WANIPConnection:1',
      control: { host: GATEWAY, port: 5000, path: '/ctl/IPConn' },
    },
  });
  const elsewhere = DESCRIPTION.replace('/ctl/IPConn', 'http://10.0.0.66/steal');
  assert.deepEqual(parseDescription(elsewhere, GATEWAY, LOCATION), { ok: false, reason: 'not-the-gateway' });
  const none = DESCRIPTION.replace('WANIPConnection', 'WANCommonInterfaceConfig');
  assert.deepEqual(parseDescription(none, GATEWAY, LOCATION), { ok: false, reason: 'no-service' });
  const nested = DESCRIPTION.replace('/ctl/IPConn', '<x>/ctl/IPConn</x>');
  assert.deepEqual(parseDescription(nested, GATEWAY, LOCATION), { ok: false, reason: 'no-service' });
  assert.deepEqual(parseGatewayUrl('/a b', GATEWAY, LOCATION), { ok: false, reason: 'bad-url' });
});

test('UPnP: HTTP answers are framed by Content-Length, chunked or truncated ones refused', () => {
  const http = (text: string): ReturnType<typeof parseHttpAnswer> => parseHttpAnswer(encode(text));
  assert.deepEqual(http('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokXX'), {
    ok: true,
    value: { status: 200, body: 'ok' },
  });
  assert.deepEqual(http('HTTP/1.0 500 Err\r\n\r\nbody'), { ok: true, value: { status: 500, body: 'body' } });
  assert.deepEqual(http('HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort'), {
    ok: false,
    reason: 'bad-framing',
  });
  assert.deepEqual(http('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok'), {
    ok: false,
    reason: 'bad-framing',
  });
  assert.deepEqual(http('garbage'), { ok: false, reason: 'bad-framing' });
  assert.deepEqual(parseHttpAnswer(new Uint8Array(70000)), { ok: false, reason: 'too-long' });
});

test('UPnP: SOAP requests escape their values; answers give the error code or the address', () => {
  const { body, soapAction } = soapRequest('urn:x:service:WANIPConnection:1', 'AddPortMapping', [
    ['NewA', '<&>'],
  ]);
  assert.match(
    body,
    /<u:AddPortMapping xmlns:u="urn:x:service:WANIPConnection:1"><NewA>&#60;&#38;&#62;<\/NewA>/,
  );
  assert.equal(soapAction, '"urn:x:service:WANIPConnection:1#AddPortMapping"');
  assert.deepEqual(parseSoapStatus(200, ''), { ok: true, value: null });
  assert.deepEqual(
    parseSoapStatus(500, '<s:Fault><UPnPError><errorCode>718</errorCode></UPnPError></s:Fault>'),
    {
      ok: false,
      reason: 'upnp-error',
      code: 718,
    },
  );
  assert.deepEqual(parseSoapStatus(404, ''), { ok: false, reason: 'not-http-200' });
  assert.deepEqual(parseExternalAddress('<u:R><NewExternalIPAddress>11.0.0.1</NewExternalIPAddress></u:R>'), {
    ok: true,
    value: 0x0b000001,
  });
  assert.deepEqual(parseExternalAddress('<NewExternalIPAddress>evil</NewExternalIPAddress>'), {
    ok: false,
    reason: 'bad-value',
  });
  assert.equal(elementText('<a:b x="1"> v </a:b>', 'b'), 'v');
});

test('UPnP: no random text throws, and any URL accepted is on the gateway', () => {
  fc.assert(
    fc.property(
      fc.string({ maxLength: 3000 }),
      fc.constantFrom('', '<service><serviceType>', '<controlURL>'),
      (text, prefix) => {
        const input = prefix + text;
        const ssdp = parseSsdpAnswer(encode(`HTTP/1.1 200 OK\r\nLOCATION: ${input}\r\n\r\n`), GATEWAY);
        if (ssdp.ok) assert.equal(ssdp.value.host, GATEWAY);
        const description = parseDescription(input, GATEWAY, LOCATION);
        if (description.ok) assert.equal(description.value.control.host, GATEWAY);
        parseHttpAnswer(encode(input));
        parseExternalAddress(input);
      },
    ),
    { numRuns: 5000 },
  );
});
