/**
 * Which relay a Teredo client found for a native IPv6 host, read from a capture taken on the
 * client's node while it pinged the host (RFC 4380 5.2.9): the first echo request goes through
 * the Teredo server, the relay announces itself with a bubble the server forwards (its origin
 * indication carries the relay's IPv4:port), the replies come straight from the relay, and the
 * client's next requests go straight to it.
 */
import type { CapturedPacket } from './lab/index.js';

export interface Endpoint {
  readonly ipv4: string;
  readonly port: number;
}

export interface RelayDiscovery {
  /** Where the host's echo replies came from: the relay the client uses. */
  readonly relay: Endpoint;
  /** Where the client sent its first echo request to the host. */
  readonly firstRequestTo: Endpoint | null;
  /** The relay as announced by a bubble with an origin indication, if one was captured. */
  readonly announcedBy: { readonly via: Endpoint; readonly origin: Endpoint } | null;
  /** Echo requests to the host that the client sent straight to the relay. */
  readonly directRequests: number;
  readonly replies: number;
}

function sameEndpoint(a: Endpoint | null, b: Endpoint | null): boolean {
  return a !== null && b !== null && a.ipv4 === b.ipv4 && a.port === b.port;
}

export function formatEndpoint(endpoint: Endpoint): string {
  return `${endpoint.ipv4}:${endpoint.port}`;
}

/** The relay `packets` show for `host`, or null when no echo reply from the host came over UDP. */
export function findRelay(packets: readonly CapturedPacket[], host: string): RelayDiscovery | null {
  const teredo = packets.filter((packet) => packet.udp !== null);
  const reply = teredo.find((packet) => packet.kind === 'echo-reply' && packet.ipv6?.src === host);
  if (reply?.udp == null) return null;
  const relay: Endpoint = { ipv4: reply.udp.src, port: reply.udp.srcPort };
  const requests = teredo.filter((packet) => packet.kind === 'echo-request' && packet.ipv6?.dst === host);
  const first = requests[0]?.udp ?? null;
  const announcement = teredo.find(
    (packet) => packet.kind === 'bubble' && packet.origin !== null && sameEndpoint(packet.origin, relay),
  );
  return {
    relay,
    firstRequestTo: first === null ? null : { ipv4: first.dst, port: first.dstPort },
    announcedBy:
      announcement?.udp == null || announcement.origin === null
        ? null
        : {
            via: { ipv4: announcement.udp.src, port: announcement.udp.srcPort },
            origin: announcement.origin,
          },
    directRequests: requests.filter(
      (packet) =>
        packet.udp !== null && sameEndpoint({ ipv4: packet.udp.dst, port: packet.udp.dstPort }, relay),
    ).length,
    replies: teredo.filter(
      (packet) =>
        packet.kind === 'echo-reply' &&
        packet.ipv6?.src === host &&
        packet.udp !== null &&
        sameEndpoint({ ipv4: packet.udp.src, port: packet.udp.srcPort }, relay),
    ).length,
  };
}

/** The discovery in plain words: how the client came to use the relay. */
export function describeDiscovery(discovery: RelayDiscovery): string {
  const parts: string[] = [];
  if (discovery.firstRequestTo !== null && !sameEndpoint(discovery.firstRequestTo, discovery.relay)) {
    parts.push(`the first echo request went through the server ${formatEndpoint(discovery.firstRequestTo)}`);
  }
  if (discovery.announcedBy !== null) {
    parts.push(
      `the relay announced itself in a bubble forwarded by ${formatEndpoint(discovery.announcedBy.via)}`,
    );
  }
  parts.push(
    `then ${discovery.replies} echo replies came from the relay and ${discovery.directRequests} requests went straight to it`,
  );
  return parts.join(', ');
}
