/**
 * Packets built by the protocol core (src/teredo), checked byte for byte against local builders
 * that follow reference section 4.4, then written to a pcap and decoded by tshark: an independent
 * decoder must see the Teredo headers, IPv6 fields and ICMPv6 contents we meant to build, with
 * every checksum correct.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildBubble,
  buildDestinationUnreachable,
  buildEcho,
  buildRouterAdvertisement,
  buildRouterSolicitation,
} from '../../src/teredo/icmpv6.js';
import { writeOriginIndication } from '../../src/teredo/wire.js';
import { createSecurityContext, nonce, pingHash, bubbleInterfaceId } from '../../src/teredo/security.js';
import { hex, ipv4Bytes, ipv4Number, ipv6Bytes } from '../support/inet.js';
import { internetChecksum, writePcap } from '../support/pcap.js';
import type { UdpRecord } from '../support/pcap.js';
import { CHECKSUM_GOOD, decodePcap, field, tsharkSkip, values } from '../support/tshark.js';
import type { PacketFields } from '../support/tshark.js';

// ---- Lab addresses ------------------------------------------------------------------------
const SERVER_IPV4 = '198.51.100.1';
const CLIENT_MAPPED_IPV4 = '203.0.113.5';
const CLIENT_MAPPED_PORT = 40000;
const CLIENT = '2001:0:c633:6401:0:63bf:34ff:8efa'; // server 198.51.100.1, mapped 203.0.113.5:40000
const PEER = '2001:0:c000:201:8000:cfc6:3fff:fd74'; // server 192.0.2.1, cone, mapped 192.0.2.139:12345
const PEER_MAPPED_IPV4 = '192.0.2.139';
const PEER_MAPPED_PORT = 12345;
const RELAY_IPV4 = '192.0.2.50';
const RELAY_PORT = 3545;
const NATIVE_HOST = '2001:db8::1';
const RESTRICTED_LL = 'fe80::ffff:ffff:ffff';
const CONE_LL = 'fe80::8000:5445:5245:444f';
const SERVER_LL = 'fe80::8000:f227:39cc:9bfe'; // cone bit, ~3544, ~198.51.100.1
const ALL_ROUTERS = 'ff02::2';
const TEREDO_PORT = 3544;

const security = createSecurityContext(
  Uint8Array.from({ length: 16 }, (_, i) => i),
  0x1234,
);
const RS_NONCE = nonce(security, 1000, ipv4Number(SERVER_IPV4), TEREDO_PORT);
const PING_TIME = 0x12345678;
const PING_AUTH = pingHash(security, PING_TIME, ipv6Bytes(CLIENT), ipv6Bytes(NATIVE_HOST));
const RELAY_BUBBLE_SOURCE = `fe80::${hexGroups(
  bubbleInterfaceId(security, ipv4Number(CLIENT_MAPPED_IPV4), CLIENT_MAPPED_PORT),
)}`;

// ---- Local byte builders (reference section 4.4), independent of src/teredo ----------------
function hexGroups(bytes: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < bytes.length; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return groups.join(':');
}

function concat(...parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function u16(value: number): Uint8Array {
  return Uint8Array.of(value >>> 8, value & 0xff);
}

function u32(value: number): Uint8Array {
  return Uint8Array.of(value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff);
}

function authHeader(nonce8: Uint8Array): Uint8Array {
  return concat(Uint8Array.of(0x00, 0x01, 0, 0), nonce8, Uint8Array.of(0));
}

function originIndication(ipv4: string, port: number): Uint8Array {
  return concat(
    Uint8Array.of(0x00, 0x00),
    u16(~port & 0xffff),
    ipv4Bytes(ipv4).map((b) => ~b & 0xff),
  );
}

function ipv6Header(
  src: string,
  dst: string,
  nextHeader: number,
  hopLimit: number,
  length: number,
): Uint8Array {
  return concat(
    Uint8Array.of(0x60, 0, 0, 0),
    u16(length),
    Uint8Array.of(nextHeader, hopLimit),
    ipv6Bytes(src),
    ipv6Bytes(dst),
  );
}

/** IPv6 header + ICMPv6 message whose checksum field (bytes 2..3 of `message`) is filled in. */
function icmpv6Packet(src: string, dst: string, hopLimit: number, message: Uint8Array): Uint8Array {
  const pseudoHeader = concat(
    ipv6Bytes(src),
    ipv6Bytes(dst),
    u32(message.length),
    Uint8Array.of(0, 0, 0, 58),
  );
  const withChecksum = message.slice();
  withChecksum.set(u16(internetChecksum(concat(pseudoHeader, message))), 2);
  return concat(ipv6Header(src, dst, 58, hopLimit, message.length), withChecksum);
}

function bubble(src: string, dst: string): Uint8Array {
  return ipv6Header(src, dst, 59, 0, 0);
}

function routerSolicitation(source: string): Uint8Array {
  return icmpv6Packet(source, ALL_ROUTERS, 255, Uint8Array.of(133, 0, 0, 0, 0, 0, 0, 0));
}

function routerAdvertisement(dst: string, mtu: number): Uint8Array {
  const header = concat(Uint8Array.of(134, 0, 0, 0, 0, 0, 0, 0), u32(0), u32(2000));
  const prefixInformation = concat(
    Uint8Array.of(3, 4, 64, 0x40),
    u32(0xffffffff),
    u32(0xffffffff),
    u32(0),
    ipv6Bytes(`2001:0:${hexGroups(ipv4Bytes(SERVER_IPV4))}::`),
  );
  const mtuOption = concat(Uint8Array.of(5, 1, 0, 0), u32(mtu));
  return icmpv6Packet(SERVER_LL, dst, 255, concat(header, prefixInformation, mtuOption));
}

function echoRequest(src: string, dst: string, authenticator22: Uint8Array): Uint8Array {
  return icmpv6Packet(src, dst, 128, concat(Uint8Array.of(128, 0, 0, 0), authenticator22));
}

function destinationUnreachable(src: string, dst: string, code: number, offending: Uint8Array): Uint8Array {
  const quoted = offending.subarray(0, 1232);
  return icmpv6Packet(src, dst, 64, concat(Uint8Array.of(1, code, 0, 0, 0, 0, 0, 0), quoted));
}

// ---- The capture -------------------------------------------------------------------------
const fromClient = { srcIPv4: CLIENT_MAPPED_IPV4, srcPort: CLIENT_MAPPED_PORT } as const;
const toClient = { dstIPv4: CLIENT_MAPPED_IPV4, dstPort: CLIENT_MAPPED_PORT } as const;
const server = { IPv4: SERVER_IPV4, Port: TEREDO_PORT } as const;

const ECHO = echoRequest(CLIENT, NATIVE_HOST, PING_AUTH);
const RA_MTU = 1400;

const EXPECTED = {
  rs: {
    ...fromClient,
    dstIPv4: server.IPv4,
    dstPort: server.Port,
    payload: concat(authHeader(RS_NONCE), routerSolicitation(RESTRICTED_LL)),
  },
  coneRs: {
    ...fromClient,
    dstIPv4: server.IPv4,
    dstPort: server.Port,
    payload: concat(authHeader(RS_NONCE), routerSolicitation(CONE_LL)),
  },
  ra: {
    srcIPv4: server.IPv4,
    srcPort: server.Port,
    ...toClient,
    payload: concat(
      authHeader(RS_NONCE),
      originIndication(CLIENT_MAPPED_IPV4, CLIENT_MAPPED_PORT),
      routerAdvertisement(RESTRICTED_LL, RA_MTU),
    ),
  },
  directBubble: {
    ...fromClient,
    dstIPv4: PEER_MAPPED_IPV4,
    dstPort: PEER_MAPPED_PORT,
    payload: bubble(CLIENT, PEER),
  },
  relayIndirectBubble: {
    srcIPv4: RELAY_IPV4,
    srcPort: RELAY_PORT,
    dstIPv4: server.IPv4,
    dstPort: server.Port,
    payload: bubble(RELAY_BUBBLE_SOURCE, CLIENT),
  },
  forwardedBubble: {
    srcIPv4: server.IPv4,
    srcPort: server.Port,
    ...toClient,
    payload: concat(originIndication(RELAY_IPV4, RELAY_PORT), bubble(RELAY_BUBBLE_SOURCE, CLIENT)),
  },
  echoRequest: {
    ...fromClient,
    dstIPv4: server.IPv4,
    dstPort: server.Port,
    payload: ECHO,
  },
  unreachable: {
    srcIPv4: RELAY_IPV4,
    srcPort: RELAY_PORT,
    ...toClient,
    payload: destinationUnreachable('2001:db8::ffff', CLIENT, 3, ECHO),
  },
} satisfies Record<string, UdpRecord>;

type PacketName = keyof typeof EXPECTED;
const ORDER = Object.keys(EXPECTED) as PacketName[];

// ---- The same packets from the protocol core's builders: these are what tshark judges ------
function built(write: (out: Uint8Array) => number): Uint8Array {
  const out = new Uint8Array(2048);
  return out.slice(0, write(out));
}

function coreBubble(src: string, dst: string, origin?: { ipv4: string; port: number }): Uint8Array {
  return built((out) => {
    const at = origin === undefined ? 0 : writeOriginIndication(out, 0, origin.port, ipv4Number(origin.ipv4));
    return at + buildBubble(out, at, { source: ipv6Bytes(src), destination: ipv6Bytes(dst) });
  });
}

const CORE_ECHO = built((out) =>
  buildEcho(out, 0, {
    kind: 'request',
    source: ipv6Bytes(CLIENT),
    destination: ipv6Bytes(NATIVE_HOST),
    hopLimit: 128,
    identifier: (PING_AUTH[0]! << 8) | PING_AUTH[1]!,
    sequence: (PING_AUTH[2]! << 8) | PING_AUTH[3]!,
    data: PING_AUTH.subarray(4),
  }),
);

const CORE_PAYLOADS: Record<PacketName, Uint8Array> = {
  rs: built((out) => buildRouterSolicitation(out, 0, { nonce: RS_NONCE })),
  coneRs: built((out) => buildRouterSolicitation(out, 0, { nonce: RS_NONCE, cone: true })),
  ra: built((out) =>
    buildRouterAdvertisement(out, 0, {
      nonce: RS_NONCE,
      originPort: CLIENT_MAPPED_PORT,
      originIPv4: ipv4Number(CLIENT_MAPPED_IPV4),
      destination: ipv6Bytes(RESTRICTED_LL),
      serverIPv4: ipv4Number(SERVER_IPV4),
      mtu: RA_MTU,
    }),
  ),
  directBubble: coreBubble(CLIENT, PEER),
  relayIndirectBubble: coreBubble(RELAY_BUBBLE_SOURCE, CLIENT),
  forwardedBubble: coreBubble(RELAY_BUBBLE_SOURCE, CLIENT, { ipv4: RELAY_IPV4, port: RELAY_PORT }),
  echoRequest: CORE_ECHO,
  unreachable: built((out) => {
    const result = buildDestinationUnreachable(out, 0, {
      code: 3,
      source: ipv6Bytes('2001:db8::ffff'),
      offending: CORE_ECHO,
    });
    assert.equal(result.kind, 'built');
    return result.kind === 'built' ? result.length : 0;
  }),
};

const RECORDS: Record<PacketName, UdpRecord> = Object.fromEntries(
  ORDER.map((name) => [name, { ...EXPECTED[name], payload: CORE_PAYLOADS[name] }]),
) as Record<PacketName, UdpRecord>;

it('the protocol core builds exactly the bytes laid out in reference section 4.4', () => {
  for (const name of ORDER) {
    assert.equal(hex(CORE_PAYLOADS[name]), hex(EXPECTED[name].payload), name);
  }
});

describe('tshark decodes the Teredo packets of reference section 4.4', { skip: tsharkSkip() }, () => {
  let directory = '';
  const decoded = new Map<PacketName, PacketFields>();

  before(async () => {
    directory = await mkdtemp(join(tmpdir(), 'miredo-ts-tshark-'));
    const file = join(directory, 'teredo.pcap');
    await writePcap(
      file,
      ORDER.map((name) => RECORDS[name]),
    );
    // Client<->peer and relay traffic is on ports other than 3544.
    const packets = await decodePcap(file, {
      teredoPorts: [CLIENT_MAPPED_PORT, PEER_MAPPED_PORT, RELAY_PORT],
    });
    assert.equal(packets.length, ORDER.length);
    ORDER.forEach((name, i) => decoded.set(name, packets[i]!));
  });

  after(async () => {
    if (directory !== '') await rm(directory, { recursive: true, force: true });
  });

  const packet = (name: PacketName): PacketFields => {
    const fields = decoded.get(name);
    assert.ok(fields, `packet ${name} was decoded`);
    return fields;
  };

  it('decodes every packet as IPv4/UDP/Teredo/IPv6 with good IPv4 and UDP checksums', () => {
    for (const name of ORDER) {
      const p = packet(name);
      const protocols = field(p, 'frame.protocols');
      assert.match(protocols, /^raw:ip:udp:teredo:ipv6/, `${name}: ${protocols}`);
      assert.equal(field(p, 'ip.checksum.status'), CHECKSUM_GOOD, `${name} IPv4 checksum`);
      assert.equal(field(p, 'ip.flags.df'), '0', `${name} DF`);
      assert.equal(field(p, 'udp.checksum.status'), CHECKSUM_GOOD, `${name} UDP checksum`);
      assert.deepEqual(values(p, '_ws.malformed'), [], `${name} is not malformed`);
      assert.deepEqual(values(p, '_ws.expert'), [], `${name} has no expert warnings`);
    }
  });

  it('router solicitation: auth header with our nonce, restricted link-local to ff02::2', () => {
    const p = packet('rs');
    assert.equal(field(p, 'udp.length'), String(8 + 61));
    assert.ok(p.has('teredo.auth'));
    assert.equal(field(p, 'teredo.auth.idlen'), '0');
    assert.equal(field(p, 'teredo.auth.aulen'), '0');
    assert.equal(field(p, 'teredo.auth.nonce'), colonHex(RS_NONCE));
    assert.equal(field(p, 'teredo.auth.conf'), '00');
    assert.equal(p.has('teredo.orig'), false);
    assertIPv6(p, { plen: 8, nxt: 58, hlim: 255, src: RESTRICTED_LL, dst: ALL_ROUTERS });
    assertIcmpv6(p, 133, 0);
    assert.equal(field(p, 'icmpv6.checksum'), '0x7d37');
  });

  it('router solicitation from the cone link-local address has checksum 0x125d', () => {
    const p = packet('coneRs');
    assertIPv6(p, { plen: 8, nxt: 58, hlim: 255, src: CONE_LL, dst: ALL_ROUTERS });
    assertIcmpv6(p, 133, 0);
    assert.equal(field(p, 'icmpv6.checksum'), '0x125d');
  });

  it('router advertisement: auth + origin indication, prefix and MTU options', () => {
    const p = packet('ra');
    assert.equal(field(p, 'udp.length'), String(8 + 117));
    assert.equal(field(p, 'teredo.auth.nonce'), colonHex(RS_NONCE));
    assert.equal(field(p, 'teredo.auth.conf'), '00');
    assert.ok(p.has('teredo.orig'));
    assert.equal(field(p, 'teredo.orig.port'), String(CLIENT_MAPPED_PORT));
    assert.equal(field(p, 'teredo.orig.addr'), CLIENT_MAPPED_IPV4);
    assertIPv6(p, { plen: 56, nxt: 58, hlim: 255, src: SERVER_LL, dst: RESTRICTED_LL });
    assertIcmpv6(p, 134, 0);
    assert.equal(field(p, 'icmpv6.nd.ra.cur_hop_limit'), '0');
    assert.equal(field(p, 'icmpv6.nd.ra.router_lifetime'), '0');
    assert.equal(field(p, 'icmpv6.nd.ra.reachable_time'), '0');
    assert.equal(field(p, 'icmpv6.nd.ra.retrans_timer'), '2000');
    assert.deepEqual(values(p, 'icmpv6.opt.type'), ['3', '5']);
    assert.equal(field(p, 'icmpv6.opt.prefix'), '2001:0:c633:6401::');
    assert.equal(field(p, 'icmpv6.opt.prefix.length'), '64');
    assert.equal(field(p, 'icmpv6.opt.prefix.flag.a'), '1');
    assert.equal(field(p, 'icmpv6.opt.prefix.flag.l'), '0');
    assert.equal(field(p, 'icmpv6.opt.prefix.valid_lifetime'), String(0xffffffff));
    assert.equal(field(p, 'icmpv6.opt.prefix.preferred_lifetime'), String(0xffffffff));
    assert.equal(field(p, 'icmpv6.opt.mtu'), String(RA_MTU));
  });

  it('direct bubble: header only, hop limit 0, Teredo addresses decoded on both sides', () => {
    const p = packet('directBubble');
    assert.equal(p.has('teredo.auth'), false);
    assert.equal(p.has('teredo.orig'), false);
    assertIPv6(p, { plen: 0, nxt: 59, hlim: 0, src: CLIENT, dst: PEER });
    assert.equal(p.has('icmpv6'), false);
    assert.equal(field(p, 'ipv6.src_ts_ipv4'), SERVER_IPV4);
    assert.equal(field(p, 'ipv6.src_tc_ipv4'), CLIENT_MAPPED_IPV4);
    assert.equal(field(p, 'ipv6.src_tc_port'), String(CLIENT_MAPPED_PORT));
    assert.equal(field(p, 'ipv6.dst_ts_ipv4'), '192.0.2.1');
    assert.equal(field(p, 'ipv6.dst_tc_ipv4'), PEER_MAPPED_IPV4);
    assert.equal(field(p, 'ipv6.dst_tc_port'), String(PEER_MAPPED_PORT));
    assert.deepEqual(values(p, 'ipv6.tc_ipv4'), [CLIENT_MAPPED_IPV4, PEER_MAPPED_IPV4]);
    assert.deepEqual(values(p, 'ipv6.tc_port'), [String(CLIENT_MAPPED_PORT), String(PEER_MAPPED_PORT)]);
    assert.deepEqual(values(p, 'ipv6.ts_ipv4'), [SERVER_IPV4, '192.0.2.1']);
  });

  it('relay bubble via the server: link-local source carrying our HMAC interface ID', () => {
    const p = packet('relayIndirectBubble');
    assertIPv6(p, { plen: 0, nxt: 59, hlim: 0, src: RELAY_BUBBLE_SOURCE, dst: CLIENT });
    assert.equal(field(p, 'ipv6.dst_tc_ipv4'), CLIENT_MAPPED_IPV4);
    assert.equal(field(p, 'ipv6.dst_tc_port'), String(CLIENT_MAPPED_PORT));
  });

  it('bubble forwarded by the server: origin indication names the relay', () => {
    const p = packet('forwardedBubble');
    assert.equal(p.has('teredo.auth'), false);
    assert.equal(field(p, 'teredo.orig.port'), String(RELAY_PORT));
    assert.equal(field(p, 'teredo.orig.addr'), RELAY_IPV4);
    assertIPv6(p, { plen: 0, nxt: 59, hlim: 0, src: RELAY_BUBBLE_SOURCE, dst: CLIENT });
  });

  it('echo request: hop limit 128, identifier/sequence/data carry the ping authenticator', () => {
    const p = packet('echoRequest');
    assertIPv6(p, { plen: 26, nxt: 58, hlim: 128, src: CLIENT, dst: NATIVE_HOST });
    assertIcmpv6(p, 128, 0);
    assert.equal(field(p, 'icmpv6.echo.identifier'), '0x1234');
    assert.equal(field(p, 'icmpv6.echo.sequence_number'), String(PING_TIME & 0xffff));
    // tshark shows the first 4 echo data bytes of a request to port 3544 as the RFC 4380 5.2.9
    // nonce and leaves the rest undissected: check those against the raw UDP payload.
    assert.equal(field(p, 'icmpv6.nonce'), colonHex(PING_AUTH.subarray(4, 8)));
    assert.equal(field(p, 'udp.payload').replaceAll(':', '').slice(-36), hex(PING_AUTH.subarray(4)));
  });

  it('destination unreachable: type 1 code 3 quoting the whole echo request', () => {
    const p = packet('unreachable');
    assertIPv6(p, { plen: 8 + ECHO.length, nxt: 58, hlim: 64, src: '2001:db8::ffff', dst: CLIENT });
    assert.equal(field(p, 'icmpv6.type'), '1');
    assert.equal(field(p, 'icmpv6.code'), '3');
    assert.equal(field(p, 'icmpv6.checksum.status'), CHECKSUM_GOOD);
    // The quoted packet is dissected too: its fields follow the outer ones.
    assert.deepEqual(values(p, 'ipv6.src'), ['2001:db8::ffff', CLIENT]);
    assert.deepEqual(values(p, 'ipv6.dst'), [CLIENT, NATIVE_HOST]);
    assert.deepEqual(values(p, 'icmpv6.type'), ['1', '128']);
    assert.equal(values(p, 'icmpv6.echo.identifier')[0], '0x1234');
  });
});

function colonHex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

interface ExpectedIPv6 {
  readonly plen: number;
  readonly nxt: number;
  readonly hlim: number;
  readonly src: string;
  readonly dst: string;
}

function assertIPv6(p: PacketFields, expected: ExpectedIPv6): void {
  assert.equal(field(p, 'ipv6.version'), '6');
  assert.equal(field(p, 'ipv6.tclass'), '0x00000000');
  assert.equal(field(p, 'ipv6.flow'), '0x000000');
  assert.equal(field(p, 'ipv6.plen'), String(expected.plen));
  assert.equal(field(p, 'ipv6.nxt'), String(expected.nxt));
  assert.equal(field(p, 'ipv6.hlim'), String(expected.hlim));
  assert.equal(field(p, 'ipv6.src'), expected.src);
  assert.equal(field(p, 'ipv6.dst'), expected.dst);
}

function assertIcmpv6(p: PacketFields, type: number, code: number): void {
  assert.equal(field(p, 'icmpv6.type'), String(type));
  assert.equal(field(p, 'icmpv6.code'), String(code));
  assert.equal(field(p, 'icmpv6.checksum.status'), CHECKSUM_GOOD);
}
