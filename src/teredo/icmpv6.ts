/**
 * The ICMPv6 messages and Teredo control packets of this core, in one import: Router
 * Solicitation and Advertisement, bubbles, Echo, Destination Unreachable. Builders write into a
 * caller buffer at an offset and return the length; parsers fill a caller-owned record and
 * return 'ok' or a drop reason, never throwing on hostile bytes.
 */
export * from './icmpv6-message.js';
export * from './router-solicitation.js';
export * from './router-advertisement.js';
export * from './bubble.js';
export * from './echo.js';
export * from './destination-unreachable.js';
