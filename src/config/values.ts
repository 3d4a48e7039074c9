/**
 * Value types shared by miredo.conf and miredo-server.conf, as zod schemas from the raw value
 * token to the typed setting. A failed parse carries one issue whose message is written to be
 * shown after `file:line: Directive: `.
 */
import { z } from 'zod';
import { TEREDO_CONSTANTS } from '../teredo/constants.js';
import { parseIPv4 } from '../teredo/ipv4.js';
import { parseIPv6 } from '../teredo/ipv6-text.js';
import { asciiLowerCase } from './tokenize.js';
import { isIPv4OrHostName } from './host-name.js';
import { IFNAMSIZ } from './settings-schema.js';
import type { MetricsListen } from './settings-schema.js';
import { parseInt16 } from './strtoul.js';
import { SYSLOG_FACILITIES, SyslogFacilitySchema } from '../log/syslog-facility.js';

const { minMtu, maxMtu } = TEREDO_CONSTANTS;

type Failed = { readonly ok: false; readonly message: string };
type Parsed<T> = { readonly ok: true; readonly value: T } | Failed;

function valueSchema<T>(parse: (text: string) => Parsed<T>) {
  return z.string().transform((text, ctx): T => {
    const parsed = parse(text);
    if (parsed.ok) return parsed.value;
    ctx.addIssue({ code: 'custom', message: parsed.message });
    return z.NEVER;
  });
}

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = (message: string): Failed => ({ ok: false, message });

export const RELAY_TYPES = ['client', 'cone', 'restricted'] as const;
export const RelayTypeSchema = z.enum(RELAY_TYPES);
export type RelayType = z.infer<typeof RelayTypeSchema>;

/** A Map, not an object: a value such as `constructor` must not find Object.prototype's. */
const RELAY_TYPE_NAMES: ReadonlyMap<string, RelayType> = new Map([
  ['client', 'client'],
  ['autoclient', 'client'],
  ['relay', 'cone'],
  ['cone', 'cone'],
  ['restricted', 'restricted'],
]);

/** RelayType: client (alias autoclient), cone (alias relay) or restricted. */
export const relayTypeValue = valueSchema((text) => {
  const type = RELAY_TYPE_NAMES.get(asciiLowerCase(text));
  return type !== undefined
    ? ok(type)
    : fail(`"${text}" is not a relay type (expected client, autoclient, relay, cone or restricted)`);
});

/** An IPv4 address or a host name, kept as written: resolution is a separate step. */
export const ipv4OrHostNameValue = valueSchema((text) =>
  isIPv4OrHostName(text) ? ok(text) : fail(`"${text}" is not an IPv4 address or host name`),
);

/** A dotted-quad IPv4 address and nothing else (no name resolution). */
export const ipv4LiteralValue = valueSchema((text) =>
  parseIPv4(text) !== null ? ok(text) : fail(`"${text}" is not a dotted-quad IPv4 address`),
);

/**
 * MetricsListen: PORT (on 127.0.0.1), or ADDRESS:PORT with an IPv4 literal, or [ADDRESS]:PORT
 * with an IPv6 one. Port 1 to 65535, in decimal.
 */
export const metricsListenValue = valueSchema((text): Parsed<MetricsListen> => {
  const match = /^(?:(\d{1,3}(?:\.\d{1,3}){3})|\[([0-9a-fA-F:.]+)\]):(\d{1,5})$|^(\d{1,5})$/.exec(text);
  const expected = 'expected PORT, IPV4:PORT or [IPV6]:PORT';
  if (match === null) return fail(`"${text}" is not a listening address (${expected})`);
  const [, ipv4, ipv6, port, portOnly] = match;
  const address = ipv4 ?? ipv6 ?? '127.0.0.1';
  if ((ipv4 !== undefined && parseIPv4(ipv4) === null) || (ipv6 !== undefined && parseIPv6(ipv6) === null))
    return fail(`"${text}" is not a listening address (${expected})`);
  const number = Number(port ?? portOnly);
  if (number < 1 || number > 0xffff) return fail(`"${text}": the port must be from 1 to 65535`);
  return ok({ address, port: number });
});

/** Miredo's int16 (strtoul base 0: decimal, 0x hex, 0 octal), used as a UDP port. */
export const portValue = valueSchema((text) => {
  const parsed = parseInt16(text);
  if (parsed.ok) return ok(parsed.value);
  return fail(
    parsed.reason === 'range'
      ? `"${text}" is not a port number (maximum 65535)`
      : `"${text}" is not a port number`,
  );
});

/**
 * An int16 MTU that a tunnel can use: Miredo's checkconf accepts values below 1280, but the
 * tunnel (relay) or the server's Router Advertisement then fails at run time, so they are
 * refused here.
 */
export const mtuValue = valueSchema((text) => {
  const parsed = parseInt16(text);
  if (!parsed.ok) return fail(`"${text}" is not an MTU (expected an integer from ${minMtu} to ${maxMtu})`);
  if (parsed.value < minMtu) return fail(`${parsed.value} is below the IPv6 minimum MTU of ${minMtu}`);
  return ok(parsed.value);
});

/**
 * A Teredo prefix: an IPv6 address whose first 32 bits are used, outside ff00::/8. Miredo
 * 1.2.6 tests the wrong byte here (it accepts ff00:: and refuses 2001:ff::); this checks the
 * first byte, as intended.
 */
export const teredoPrefixValue = valueSchema((text) => {
  if (text.includes('%')) return fail(`"${text}" has a zone index, which a prefix cannot have`);
  const bytes = parseIPv6(text);
  if (bytes === null) return fail(`"${text}" is not an IPv6 address`);
  const [b0 = 0, b1 = 0, b2 = 0, b3 = 0] = bytes;
  if (b0 === 0xff) return fail(`"${text}" is a multicast address (ff00::/8), not a Teredo prefix`);
  return ok(((b0 << 24) | (b1 << 16) | (b2 << 8) | b3) >>> 0);
});

/** A Linux interface name as the kernel accepts it (dev_valid_name); `%d` lets it pick a number. */
export const interfaceNameValue = valueSchema((text) => {
  if (Buffer.byteLength(text, 'utf8') >= IFNAMSIZ) {
    return fail(`"${text}" is too long for an interface name (at most ${IFNAMSIZ - 1} characters)`);
  }
  if (text === '.' || text === '..' || /[/:]/.test(text)) {
    return fail(`"${text}" is not a valid interface name (no "/" or ":", not "." or "..")`);
  }
  return ok(text);
});

/** Miredo's boolean words (its conf.c), case-insensitive; a whole number is true unless 0. */
const BOOLEAN_WORDS: ReadonlyMap<string, boolean> = new Map([
  ['yes', true],
  ['true', true],
  ['on', true],
  ['enabled', true],
  ['no', false],
  ['false', false],
  ['off', false],
  ['disabled', false],
]);

/** A boolean as Miredo reads one: yes/true/on/enabled, no/false/off/disabled, or an integer. */
export const booleanValue = valueSchema((text) => {
  const word = BOOLEAN_WORDS.get(asciiLowerCase(text));
  if (word !== undefined) return ok(word);
  const number = /^[+-]?(?:0x[0-9a-f]+|0[0-7]*|[1-9][0-9]*)$/i.exec(text);
  if (number !== null) return ok(/[1-9a-f]/i.test(text.replace(/^[+-]?0x?/i, '')));
  return fail(
    `"${text}" is not a boolean (expected yes, no, true, false, on, off, enabled, disabled or a number)`,
  );
});

export const syslogFacilityValue = valueSchema((text) => {
  const facility = SyslogFacilitySchema.safeParse(asciiLowerCase(text));
  return facility.success
    ? ok(facility.data)
    : fail(`"${text}" is not a syslog facility (expected one of ${SYSLOG_FACILITIES.join(', ')})`);
});

/** The message of the first issue of a failed value parse. */
export function issueMessage(error: z.ZodError): string {
  return error.issues[0]?.message ?? 'invalid value';
}
