import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildEcho,
  createEchoMessage,
  echoPacketLength,
  parseEcho,
  verifyIcmpv6Checksum,
} from '../../../src/teredo/icmpv6.js';
import { bytesOf, CLIENT_ADDRESS, hexOf, NATIVE_ADDRESS } from './fixtures.js';

// A direct connectivity ping carrying Miredo's 22-byte authenticator (reference 4.4/4.5).
const AUTHENTICATOR = bytesOf('123456781234dc679fad9877d2dbfc29e1d920873900');

function ping(): Uint8Array {
  const out = new Uint8Array(66);
  const length = buildEcho(out, 0, {
    kind: 'request',
    source: CLIENT_ADDRESS,
    destination: NATIVE_ADDRESS,
    hopLimit: 128,
    identifier: (AUTHENTICATOR[0]! << 8) | AUTHENTICATOR[1]!,
    sequence: (AUTHENTICATOR[2]! << 8) | AUTHENTICATOR[3]!,
    data: AUTHENTICATOR.subarray(4),
  });
  assert.equal(length, 66);
  return out;
}

test('a direct connectivity ping is 66 bytes: ICMPv6 length 26, hop limit 128', () => {
  const packet = ping();
  assert.equal(echoPacketLength(18), 66);
  assert.equal(
    hexOf(packet.subarray(0, 40)),
    '60000000' + '001a' + '3a' + '80' + hexOf(CLIENT_ADDRESS) + hexOf(NATIVE_ADDRESS),
  );
  assert.equal(packet[40], 128);
  assert.equal(packet[41], 0);
  assert.equal(hexOf(packet.subarray(44)), hexOf(AUTHENTICATOR));
  assert.equal(verifyIcmpv6Checksum(packet, 0), true);
});

test('echo request and reply parse back', () => {
  const message = createEchoMessage();
  const packet = ping();
  assert.equal(parseEcho(packet, 0, packet.length, message), 'ok');
  assert.deepEqual(message, {
    kind: 'request',
    identifier: 0x1234,
    sequence: 0x5678,
    dataOffset: 48,
    dataLength: 18,
  });
  assert.equal(
    hexOf(packet.subarray(message.dataOffset, message.dataOffset + message.dataLength)),
    hexOf(AUTHENTICATOR.subarray(4)),
  );

  const reply = new Uint8Array(60);
  const length = buildEcho(reply, 4, {
    kind: 'reply',
    source: packet,
    sourceOffset: 24,
    destination: packet,
    destinationOffset: 8,
    hopLimit: 255,
    identifier: message.identifier,
    sequence: message.sequence,
  });
  assert.equal(length, 48);
  assert.equal(reply[44], 129);
  assert.equal(verifyIcmpv6Checksum(reply, 4), true);
  assert.equal(parseEcho(reply, 4, length, message), 'ok');
  assert.deepEqual(message, {
    kind: 'reply',
    identifier: 0x1234,
    sequence: 0x5678,
    dataOffset: 52,
    dataLength: 0,
  });
});

test('echo drop reasons', () => {
  const message = createEchoMessage();
  const mutate = (change: (packet: Uint8Array) => void): Uint8Array => {
    const packet = ping();
    change(packet);
    return packet;
  };
  assert.equal(
    parseEcho(
      mutate((p) => (p[41] = 1)),
      0,
      66,
      message,
    ),
    'not-echo',
  );
  assert.equal(
    parseEcho(
      mutate((p) => (p[40] = 1)),
      0,
      66,
      message,
    ),
    'not-echo',
  );
  assert.equal(
    parseEcho(
      mutate((p) => (p[40] = 130)),
      0,
      66,
      message,
    ),
    'not-echo',
  );
  assert.equal(
    parseEcho(
      mutate((p) => (p[6] = 59)),
      0,
      66,
      message,
    ),
    'not-icmpv6',
  );
  assert.equal(
    parseEcho(
      mutate((p) => (p[5] = 7)),
      0,
      66,
      message,
    ),
    'icmpv6-truncated',
  );
  assert.equal(parseEcho(ping(), 0, 65, message), 'ipv6-payload-truncated');
  assert.equal(message.dataOffset, -1);
});

test('buildEcho refuses a short buffer', () => {
  const fields = {
    kind: 'request',
    source: CLIENT_ADDRESS,
    destination: NATIVE_ADDRESS,
    hopLimit: 1,
    identifier: 1,
    sequence: 1,
    data: new Uint8Array(4),
  } as const;
  assert.throws(() => buildEcho(new Uint8Array(51), 0, fields), RangeError);
  assert.equal(buildEcho(new Uint8Array(52), 0, fields), 52);
});
