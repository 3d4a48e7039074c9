/**
 * Whether a received packet answers one of our direct connectivity pings (Miredo's CheckPing,
 * reference section 4.9): an Echo Reply carrying the authenticator we put in the request, or,
 * for hosts and firewalls that never answer pings, a Destination Unreachable quoting our Echo
 * Request, accepted only when its source is the host we pinged. Authenticators are checked
 * against the wall clock (30 s lifetime). Never throws on hostile bytes.
 */
import { createDestinationUnreachable, parseDestinationUnreachable } from './destination-unreachable.js';
import { createEchoMessage, parseEcho } from './echo.js';
import { bytesEqual } from './bytes.js';
import { IPV6_DESTINATION_OFFSET, IPV6_SOURCE_OFFSET } from './ipv6-header.js';
import { PING_HASH_BYTES, verifyPingHash } from './security.js';
import type { SecurityContext } from './security.js';

/** Identifier and sequence precede the echo data; together with 18 data bytes they are the authenticator. */
const ID_AND_SEQUENCE_BYTES = 4;

export interface PingCheck {
  /** Whether the IPv6 packet at bytes[offset, offset + length) answers our ping; wallSeconds = now. */
  answersOurPing(bytes: Uint8Array, offset: number, length: number, wallSeconds: number): boolean;
}

export function createPingCheck(security: SecurityContext): PingCheck {
  const echo = createEchoMessage();
  const unreachable = createDestinationUnreachable();

  /** Whether the echo parsed into `echo` carries our authenticator for a request from `source` to `destination`. */
  function verifies(bytes: Uint8Array, source: number, destination: number, wallSeconds: number): boolean {
    if (echo.dataLength < PING_HASH_BYTES - ID_AND_SEQUENCE_BYTES) return false;
    const start = echo.dataOffset - ID_AND_SEQUENCE_BYTES;
    return (
      verifyPingHash(
        security,
        bytes.subarray(start, start + PING_HASH_BYTES),
        bytes.subarray(source, source + 16),
        bytes.subarray(destination, destination + 16),
        wallSeconds >>> 0,
      ) === 'valid'
    );
  }

  return {
    answersOurPing(bytes, offset, length, wallSeconds): boolean {
      if (parseEcho(bytes, offset, length, echo) === 'ok') {
        // The reply goes from the pinged host to us: the request went the other way.
        return (
          echo.kind === 'reply' &&
          verifies(bytes, offset + IPV6_DESTINATION_OFFSET, offset + IPV6_SOURCE_OFFSET, wallSeconds)
        );
      }
      if (parseDestinationUnreachable(bytes, offset, length, unreachable) !== 'ok') return false;
      const quoted = unreachable.quotedOffset;
      if (parseEcho(bytes, quoted, unreachable.quotedLength, echo) !== 'ok' || echo.kind !== 'request') {
        return false;
      }
      if (!bytesEqual(bytes, offset + IPV6_SOURCE_OFFSET, bytes, quoted + IPV6_DESTINATION_OFFSET, 16)) {
        return false;
      }
      return verifies(bytes, quoted + IPV6_SOURCE_OFFSET, quoted + IPV6_DESTINATION_OFFSET, wallSeconds);
    },
  };
}
