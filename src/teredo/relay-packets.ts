/**
 * The control packets the tunnel core sends (reference section 4.4), built in scratch buffers
 * owned by one core: bubbles towards a Teredo peer (direct and indirect), reply bubbles, bubbles
 * between two given addresses (RFC 6081 traversal: from our Teredo address to a peer), and
 * the direct connectivity ping to a native host. The bytes handed to TunnelOutput are valid
 * only during the call.
 */
import { teredoClientAt, teredoPortAt, teredoServerAt } from './address.js';
import { buildBubble, BUBBLE_BYTES } from './bubble.js';
import type { Hairpinning } from './hairpinning.js';
import type { TeredoConstants } from './constants.js';
import { buildEcho, echoPacketLength } from './echo.js';
import { isGlobalUnicastIPv4 } from './ipv4.js';
import { bubbleInterfaceId, pingHash, PING_HASH_BYTES, PING_VARIANTS } from './security.js';
import { testAliasFlags } from './native-relays.js';
import { ALTERNATE_ADDRESS_MAX_BYTES } from './trailers.js';
import type { SecurityContext } from './security.js';
import type { TunnelOutput } from './relay-types.js';
import { IPV6_DESTINATION_OFFSET, IPV6_SOURCE_OFFSET } from './ipv6-header.js';

export const PING_PACKET_BYTES = echoPacketLength(PING_HASH_BYTES - 4);

export interface ControlPackets {
  /**
   * A bubble to the Teredo address at dst[dstOffset..]: from fe80::<our interface ID for the
   * address's mapping>, sent directly to that mapping or, `indirect`, to the address's server
   * on port 3544, then with our Alternate Address trailer (RFC 6081 hairpinning) if we have one.
   * False (nothing sent) when the IPv4 it would go to is not global unicast.
   */
  sendBubbleTo(dst: Uint8Array, dstOffset: number, indirect: boolean, out: TunnelOutput): boolean;
  /**
   * The reply to the packet at packet[offset..]: a bubble with its source and destination
   * swapped, sent to (ipv4, port). False when ipv4 is not global unicast.
   */
  sendReplyBubble(packet: Uint8Array, offset: number, ipv4: number, port: number, out: TunnelOutput): boolean;
  /**
   * A bubble from the address at src[srcOffset..] to the one at dst[dstOffset..], sent to
   * (ipv4, port). False when ipv4 is not global unicast.
   */
  sendBubbleBetween(
    src: Uint8Array,
    srcOffset: number,
    dst: Uint8Array,
    dstOffset: number,
    ipv4: number,
    port: number,
    out: TunnelOutput,
  ): boolean;
  /**
   * An authenticated Echo Request from `source` (our address) to `destination`, via our server.
   * `fromAlias`: from the next alias of our address, with the next variant's Echo identifier
   * (security.ts, PING_VARIANTS; native-relays.ts, testAliasFlags), so that successive tests
   * hash differently on routers that spread flows over several relays. Else from our address
   * with Miredo's authenticator (variant 0).
   */
  sendPing(
    source: Uint8Array,
    destination: Uint8Array,
    destinationOffset: number,
    wallSeconds: number,
    serverIPv4: number,
    out: TunnelOutput,
    fromAlias?: boolean,
  ): void;
}

export function createControlPackets(
  security: SecurityContext,
  constants: TeredoConstants,
  hairpin: Pick<Hairpinning, 'writeTrailer'>,
): ControlPackets {
  const bubble = new Uint8Array(BUBBLE_BYTES + ALTERNATE_ADDRESS_MAX_BYTES);
  const linkLocal = new Uint8Array(16);
  linkLocal[0] = 0xfe;
  linkLocal[1] = 0x80;
  const ping = new Uint8Array(PING_PACKET_BYTES);
  const authenticator = new Uint8Array(PING_HASH_BYTES);
  const pingDestination = new Uint8Array(16);
  const pingSource = new Uint8Array(16);
  let nextAlias = 1;

  const packets: ControlPackets = {
    sendBubbleTo(dst, dstOffset, indirect, out): boolean {
      const mappedIPv4 = teredoClientAt(dst, dstOffset);
      const mappedPort = teredoPortAt(dst, dstOffset);
      const ipv4 = indirect ? teredoServerAt(dst, dstOffset) : mappedIPv4;
      const port = indirect ? constants.port : mappedPort;
      if (!isGlobalUnicastIPv4(ipv4)) return false;
      bubbleInterfaceId(security, mappedIPv4, mappedPort, linkLocal, 8);
      buildBubble(bubble, 0, { source: linkLocal, destination: dst, destinationOffset: dstOffset });
      const trailer = indirect ? hairpin.writeTrailer(bubble, BUBBLE_BYTES) : 0;
      out.sendUdp(bubble, 0, BUBBLE_BYTES + trailer, ipv4, port);
      return true;
    },
    sendReplyBubble(packet, offset, ipv4, port, out): boolean {
      const source = offset + IPV6_SOURCE_OFFSET;
      return packets.sendBubbleBetween(
        packet,
        offset + IPV6_DESTINATION_OFFSET,
        packet,
        source,
        ipv4,
        port,
        out,
      );
    },
    sendBubbleBetween(src, srcOffset, dst, dstOffset, ipv4, port, out): boolean {
      if (!isGlobalUnicastIPv4(ipv4)) return false;
      buildBubble(bubble, 0, {
        source: src,
        sourceOffset: srcOffset,
        destination: dst,
        destinationOffset: dstOffset,
      });
      out.sendUdp(bubble, 0, BUBBLE_BYTES, ipv4, port);
      return true;
    },
    sendPing(source, destination, destinationOffset, wallSeconds, serverIPv4, out, fromAlias = false): void {
      const variant = fromAlias ? nextAlias : 0;
      if (fromAlias) nextAlias = nextAlias + 1 === PING_VARIANTS ? 1 : nextAlias + 1;
      pingDestination.set(destination.subarray(destinationOffset, destinationOffset + 16));
      pingSource.set(source.subarray(0, 16));
      const flags = testAliasFlags((source[8]! << 8) | source[9]!, variant);
      pingSource[8] = flags >>> 8;
      pingSource[9] = flags & 0xff;
      pingHash(security, wallSeconds >>> 0, pingSource, pingDestination, authenticator, 0, variant);
      const length = buildEcho(ping, 0, {
        kind: 'request',
        source: pingSource,
        destination: pingDestination,
        hopLimit: constants.pingHopLimit,
        identifier: (authenticator[0]! << 8) | authenticator[1]!,
        sequence: (authenticator[2]! << 8) | authenticator[3]!,
        data: authenticator.subarray(4),
      });
      out.sendUdp(ping, 0, length, serverIPv4, constants.port);
    },
  };
  return packets;
}
