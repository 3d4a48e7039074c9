/**
 * The RFC 6081 trailers of a datagram the client receives (trailers.ts), read once per datagram
 * that has any: skipped ones counted by why, then handed to the extensions that act on them
 * (hairpinning.ts). Records are the receiver's own, so nothing is allocated per datagram.
 */
import type { HairpinOrigin } from './hairpinning.js';
import { count } from './relay-context.js';
import type { CoreContext } from './relay-context.js';
import type { ClientIdentity, TunnelOutput } from './relay-types.js';
import { createTrailers, parseTrailers } from './trailers.js';
import type { TeredoPayload } from './wire.js';

export interface TrailerReceiver {
  /** The trailers after the IPv6 packet of `payload` (parsed from `datagram`), from srcIPv4:srcPort. */
  offer(
    identity: ClientIdentity,
    datagram: Uint8Array,
    payload: Readonly<TeredoPayload>,
    srcIPv4: number,
    srcPort: number,
    nowMs: number,
    out: TunnelOutput,
  ): void;
}

export function createTrailerReceiver(context: CoreContext): TrailerReceiver {
  const trailers = createTrailers();
  const origin: HairpinOrigin = { viaServer: false, originIPv4: 0, originPort: 0 };
  return {
    offer(identity, datagram, payload, srcIPv4, srcPort, nowMs, out): void {
      if (payload.trailerLength <= 0) return;
      parseTrailers(datagram, payload.ipv6Offset + payload.ipv6Length, payload.trailerLength, trailers);
      if (trailers.unknown > 0) count(context, 'trailer-unknown', trailers.unknown);
      if (trailers.malformed > 0) count(context, 'trailer-malformed', trailers.malformed);
      if (trailers.duplicate > 0) count(context, 'trailer-duplicate', trailers.duplicate);
      if (trailers.refusedEntries > 0) count(context, 'trailer-entry-refused', trailers.refusedEntries);
      if (trailers.truncated) count(context, 'trailer-truncated');
      origin.viaServer =
        payload.hasOrigin && srcIPv4 >>> 0 === identity.serverIPv4 && srcPort === context.constants.port;
      origin.originIPv4 = payload.originIPv4;
      origin.originPort = payload.originPort;
      context.hairpin.offer(trailers, datagram, payload.ipv6Offset, origin, nowMs, out);
    },
  };
}
