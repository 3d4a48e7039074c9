/**
 * UPnP IGD (UPnP Device Architecture 1.1, WANIPConnection) as a sans-I/O codec, bounded for
 * hostile answers: the SSDP M-SEARCH sent to the gateway alone (unicast, so nothing leaves for
 * other LAN hosts) and its answer's LOCATION, the device description reduced to the control URL
 * of its WANIPConnection (or WANPPPConnection) service, and the SOAP requests and answers for
 * AddPortMapping, DeletePortMapping and GetExternalIPAddress. Every URL must name the gateway
 * itself: a description cannot send us to another host. The parser reads only the few elements
 * needed, by plain string search over a size-limited text; it never builds a tree.
 */
import { parseIPv4 } from './ipv4.js';

export const SSDP_PORT = 1900;
/** Largest SSDP answer, description and SOAP answer read; anything longer is refused whole. */
export const MAX_SSDP_ANSWER = 2048;
export const MAX_HTTP_ANSWER = 65536;
const MAX_URL = 512;

const SERVICE_TYPES = [
  'urn:schemas-upnp-org:service:WANIPConnection:2',
  'urn:schemas-upnp-org:service:WANIPConnection:1',
  'urn:schemas-upnp-org:service:WANPPPConnection:1',
] as const;

export interface UpnpUrl {
  readonly host: string;
  readonly port: number;
  /** Starts with '/', printable ASCII only. */
  readonly path: string;
}

export interface UpnpService {
  readonly serviceType: string;
  readonly control: UpnpUrl;
}

export type UpnpDrop =
  | 'too-long'
  | 'not-http-200'
  | 'no-location'
  | 'bad-url'
  | 'not-the-gateway'
  | 'no-service'
  | 'bad-framing'
  | 'bad-value';

export type UpnpResult<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: UpnpDrop };

const fail = (reason: UpnpDrop): { ok: false; reason: UpnpDrop } => ({ ok: false, reason });
const decoder = new TextDecoder('latin1');

export function ssdpSearch(): Uint8Array {
  return new TextEncoder().encode(
    'M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: "ssdp:discover"\r\nMX: 1\r\n' +
      'ST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n\r\n',
  );
}

const PRINTABLE_PATH = /^\/[\x21-\x7e]*$/;

/**
 * An http:// URL on the gateway (`gateway` in dotted form), or relative to `base`. No user info,
 * no host name, no other scheme.
 */
export function parseGatewayUrl(text: string, gateway: string, base: UpnpUrl | null): UpnpResult<UpnpUrl> {
  const value = text.trim();
  if (value.length === 0 || value.length > MAX_URL) return fail('bad-url');
  if (value.startsWith('/')) {
    if (base === null || !PRINTABLE_PATH.test(value)) return fail('bad-url');
    return { ok: true, value: { host: base.host, port: base.port, path: value } };
  }
  const match = /^http:\/\/([0-9.]+)(?::([0-9]{1,5}))?(\/[\x21-\x7e]*)?$/i.exec(value);
  if (match === null) return fail('bad-url');
  const host = match[1]!;
  if (parseIPv4(host) === null) return fail('bad-url');
  if (host !== gateway) return fail('not-the-gateway');
  const port = match[2] === undefined ? 80 : Number(match[2]);
  if (port < 1 || port > 65535) return fail('bad-url');
  return { ok: true, value: { host, port, path: match[3] ?? '/' } };
}

/** The description's URL from an SSDP answer (an HTTP/1.1 200 with a LOCATION header). */
export function parseSsdpAnswer(answer: Uint8Array, gateway: string): UpnpResult<UpnpUrl> {
  if (answer.length > MAX_SSDP_ANSWER) return fail('too-long');
  const lines = decoder.decode(answer).split('\r\n');
  if (!/^HTTP\/1\.[01] 200( |$)/.test(lines[0] ?? '')) return fail('not-http-200');
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === 'location')
      return parseGatewayUrl(line.slice(colon + 1), gateway, null);
  }
  return fail('no-location');
}

/** An HTTP/1.x answer read until the peer closed: its status and body (Content-Length honoured, no chunking). */
export function parseHttpAnswer(answer: Uint8Array): UpnpResult<{ status: number; body: string }> {
  if (answer.length > MAX_HTTP_ANSWER) return fail('too-long');
  const text = decoder.decode(answer);
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return fail('bad-framing');
  const head = text.slice(0, end).split('\r\n');
  const status = /^HTTP\/1\.[01] ([1-5][0-9][0-9])( |$)/.exec(head[0] ?? '');
  if (status === null) return fail('bad-framing');
  let body = text.slice(end + 4);
  for (const line of head.slice(1)) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'transfer-encoding' && value.toLowerCase() !== 'identity') return fail('bad-framing');
    if (name === 'content-length') {
      if (!/^[0-9]{1,6}$/.test(value) || Number(value) > body.length) return fail('bad-framing');
      body = body.slice(0, Number(value));
    }
  }
  return { ok: true, value: { status: Number(status[1]), body } };
}

/** The text of the first `<name>` element (namespace prefixes allowed) inside `xml`, or null. */
export function elementText(xml: string, name: string): string | null {
  const open = new RegExp(`<(?:[A-Za-z0-9_.-]+:)?${name}(?:\\s[^>]*)?>`).exec(xml);
  if (open === null) return null;
  const start = open.index + open[0].length;
  const close = new RegExp(`</(?:[A-Za-z0-9_.-]+:)?${name}\\s*>`).exec(xml.slice(start));
  if (close === null) return null;
  const text = xml.slice(start, start + close.index);
  return text.includes('<') ? null : text.trim();
}

/** The first WANIPConnection (v2, v1) or WANPPPConnection service of a description, by preference. */
export function parseDescription(xml: string, gateway: string, location: UpnpUrl): UpnpResult<UpnpService> {
  if (xml.length > MAX_HTTP_ANSWER) return fail('too-long');
  const services = xml.split(/<\/?(?:[A-Za-z0-9_.-]+:)?service(?:\s[^>]*)?>/);
  for (const wanted of SERVICE_TYPES) {
    for (const block of services) {
      if (elementText(block, 'serviceType') !== wanted) continue;
      const control = elementText(block, 'controlURL');
      if (control === null) continue;
      // A relative control URL (with or without its leading slash) is on the description's host.
      const absolute = /^[a-z]+:/i.test(control);
      const url = parseGatewayUrl(
        absolute || control.startsWith('/') ? control : `/${control}`,
        gateway,
        location,
      );
      if (!url.ok) return url;
      return { ok: true, value: { serviceType: wanted, control: url.value } };
    }
  }
  return fail('no-service');
}

const escapeXml = (text: string): string => text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** The SOAP envelope and SOAPAction header value for `action` of `serviceType`. */
export function soapRequest(
  serviceType: string,
  action: string,
  args: readonly (readonly [string, string | number])[],
): { readonly body: string; readonly soapAction: string } {
  const fields = args.map(([name, value]) => `<${name}>${escapeXml(String(value))}</${name}>`).join('');
  const body =
    '<?xml version="1.0"?>\r\n<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" ' +
    's:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body>' +
    `<u:${action} xmlns:u="${serviceType}">${fields}</u:${action}></s:Body></s:Envelope>\r\n`;
  return { body, soapAction: `"${serviceType}#${action}"` };
}

export interface AddPortMappingArgs {
  readonly externalPort: number;
  readonly internalPort: number;
  readonly internalClient: string;
  readonly leaseSeconds: number;
}

export function addPortMappingArgs(
  args: AddPortMappingArgs,
): readonly (readonly [string, string | number])[] {
  return [
    ['NewRemoteHost', ''],
    ['NewExternalPort', args.externalPort],
    ['NewProtocol', 'UDP'],
    ['NewInternalPort', args.internalPort],
    ['NewInternalClient', args.internalClient],
    ['NewEnabled', 1],
    ['NewPortMappingDescription', 'Teredo'],
    ['NewLeaseDuration', args.leaseSeconds],
  ];
}

export function deletePortMappingArgs(externalPort: number): readonly (readonly [string, string | number])[] {
  return [
    ['NewRemoteHost', ''],
    ['NewExternalPort', externalPort],
    ['NewProtocol', 'UDP'],
  ];
}

/** A SOAP answer: ok (200), or the UPnP error code of a 500 (718: the port is taken). */
export function parseSoapStatus(
  status: number,
  body: string,
): UpnpResult<null> | { ok: false; reason: 'upnp-error'; code: number } {
  if (status === 200) return { ok: true, value: null };
  const code = elementText(body, 'errorCode');
  if (status === 500 && code !== null && /^[0-9]{1,4}$/.test(code))
    return { ok: false, reason: 'upnp-error', code: Number(code) };
  return fail('not-http-200');
}

/** GetExternalIPAddress's answer: the NewExternalIPAddress element, a dotted quad. */
export function parseExternalAddress(body: string): UpnpResult<number> {
  const text = elementText(body, 'NewExternalIPAddress');
  const ipv4 = text === null ? null : parseIPv4(text);
  return ipv4 === null ? fail('bad-value') : { ok: true, value: ipv4 };
}
