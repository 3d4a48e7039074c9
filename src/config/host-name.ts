/**
 * Host names as they appear in configuration files. Only the strict dotted-quad form counts as an
 * IPv4 literal: `192.0.2.010` or `127.1` are handed to the resolver like any name, which then
 * reads them the way getaddrinfo (and so Miredo) does.
 */
import { parseIPv4 } from '../teredo/ipv4.js';

const LABEL = /^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;

/**
 * A name the resolver could look up: dot-separated labels of letters, digits, `-` and `_`
 * (not at a label's ends), at most 63 bytes each and 253 in all, with an optional final dot.
 */
export function isHostName(text: string): boolean {
  const name = text.endsWith('.') ? text.slice(0, -1) : text;
  if (name.length === 0 || name.length > 253) return false;
  return name.split('.').every((label) => LABEL.test(label));
}

/** A dotted-quad IPv4 address or a host name: what ServerAddress and BindAddress may be. */
export function isIPv4OrHostName(text: string): boolean {
  return parseIPv4(text) !== null || isHostName(text);
}
