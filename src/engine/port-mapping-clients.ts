/**
 * One request of each port mapping protocol, from codec to gateway and back: PCP's MAP, NAT-PMP's
 * MAP and external address, and UPnP IGD's discovery, description and SOAP actions. Each returns
 * the mapping or a reason; nothing here keeps state but the UPnP control URL and the PCP nonce,
 * which renewals reuse. The pieces UPnP extracts from text are checked again with zod.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { ipv4Schema } from '../config/settings-schema.js';
import { tcpExchange, udpExchange } from '../os/gateway-exchange.js';
import type { ExchangeResult } from '../os/gateway-exchange.js';
import { formatIPv4, parseIPv4 } from '../teredo/ipv4.js';
import { NATPMP_PCP_PORT } from '../teredo/port-mapping.js';
import type { PortMapping, PortMappingProtocol } from '../teredo/port-mapping.js';
import {
  natPmpAddressRequest,
  natPmpMapRequest,
  parseNatPmpAddressReply,
  parseNatPmpMapReply,
} from '../teredo/port-mapping-natpmp.js';
import { parsePcpMapReply, pcpMapRequest, PCP_NONCE_LENGTH } from '../teredo/port-mapping-pcp.js';
import type { PcpMapRequest } from '../teredo/port-mapping-pcp.js';
import {
  addPortMappingArgs,
  deletePortMappingArgs,
  MAX_HTTP_ANSWER,
  parseDescription,
  parseExternalAddress,
  parseHttpAnswer,
  parseSoapStatus,
  parseSsdpAnswer,
  soapRequest,
  SSDP_PORT,
  ssdpSearch,
} from '../teredo/port-mapping-upnp.js';
import type { UpnpService, UpnpUrl } from '../teredo/port-mapping-upnp.js';

/** UDP answers: RFC 6886's first retransmissions (250 ms, doubling), within one second in all. */
export const UDP_ATTEMPT_MS = 900;
const UDP_RESEND_MS = [250, 750] as const;
/** Each HTTP exchange with a UPnP gateway. */
export const HTTP_ATTEMPT_MS = 1000;

export interface GatewayTarget {
  readonly gateway: string;
  /** The gateway's NAT-PMP/PCP and SSDP ports (5351 and 1900; tests use others). */
  readonly natPmpPort?: number;
  readonly ssdpPort?: number;
}

export type MappingOutcome =
  | { readonly ok: true; readonly mapping: PortMapping }
  /** `fallBack`: the gateway does not speak this protocol (no answer, refused, or another version). */
  | { readonly ok: false; readonly reason: string; readonly fallBack: boolean };

export interface ProtocolClient {
  readonly protocol: PortMappingProtocol;
  /** Creates or renews the mapping of `internalPort` (UDP) for `lifetimeSeconds`. */
  map(internalPort: number, lifetimeSeconds: number): Promise<MappingOutcome>;
  /** Deletes the mapping (lifetime 0, or DeletePortMapping). */
  unmap(mapping: PortMapping): Promise<boolean>;
}

const failed = (reason: string, fallBack: boolean): MappingOutcome => ({ ok: false, reason, fallBack });
const noAnswer = (result: ExchangeResult<unknown>): MappingOutcome =>
  failed(result.ok ? 'unexpected' : result.reason, !result.ok && result.reason !== 'too-long');

function udp<T>(
  target: GatewayTarget,
  request: (local: string) => Uint8Array,
  judge: (answer: Uint8Array) => T | null,
) {
  return udpExchange({
    gateway: target.gateway,
    port: target.natPmpPort ?? NATPMP_PCP_PORT,
    request,
    judge,
    timeoutMs: UDP_ATTEMPT_MS,
    resendMs: UDP_RESEND_MS,
  });
}

export function pcpClient(target: GatewayTarget): ProtocolClient {
  const nonce = new Uint8Array(randomBytes(PCP_NONCE_LENGTH));
  const requestFor = (
    local: string,
    internalPort: number,
    suggestedPort: number,
    lifetimeSeconds: number,
  ): PcpMapRequest => ({
    clientIPv4: parseIPv4(local) ?? 0,
    internalPort,
    suggestedPort,
    lifetimeSeconds,
    nonce,
  });
  let lastPort = 0;
  const exchange = (internalPort: number, lifetimeSeconds: number, deleting: boolean) => {
    let request: PcpMapRequest | null = null;
    return udp(
      target,
      (local) => {
        request = requestFor(local, internalPort, deleting ? 0 : lastPort || internalPort, lifetimeSeconds);
        return pcpMapRequest(request);
      },
      (answer) => {
        if (request === null) return null;
        const parsed = parsePcpMapReply(answer, request, deleting);
        // Anything not tied to our request (another nonce, a malformed datagram) is ignored.
        return parsed.ok || parsed.reason === 'refused' || parsed.reason === 'unsupported-version'
          ? parsed
          : null;
      },
    );
  };
  return {
    protocol: 'pcp',
    async map(internalPort, lifetimeSeconds) {
      const result = await exchange(internalPort, lifetimeSeconds, false);
      if (!result.ok) return noAnswer(result);
      const answer = result.value;
      if (!answer.ok)
        return failed(
          answer.reason === 'refused' ? `result ${answer.resultCode}` : answer.reason,
          answer.reason === 'unsupported-version',
        );
      lastPort = answer.externalPort;
      return { ok: true, mapping: { protocol: 'pcp', internalPort, ...answer } };
    },
    async unmap(mapping) {
      const result = await exchange(mapping.internalPort, 0, true);
      return result.ok && result.value.ok;
    },
  };
}

export function natPmpClient(target: GatewayTarget): ProtocolClient {
  let lastPort = 0;
  const mapExchange = (internalPort: number, suggested: number, lifetimeSeconds: number, deleting: boolean) =>
    udp(
      target,
      () => natPmpMapRequest(internalPort, suggested, lifetimeSeconds),
      (answer) => {
        const parsed = parseNatPmpMapReply(answer, internalPort, deleting);
        return parsed.ok || parsed.reason === 'refused' ? parsed : null;
      },
    );
  return {
    protocol: 'natpmp',
    async map(internalPort, lifetimeSeconds) {
      const result = await mapExchange(internalPort, lastPort || internalPort, lifetimeSeconds, false);
      if (!result.ok) return noAnswer(result);
      if (!result.value.ok)
        return failed(`result ${'resultCode' in result.value ? result.value.resultCode : 0}`, false);
      const address = await udp(target, natPmpAddressRequest, (answer) => {
        const parsed = parseNatPmpAddressReply(answer);
        return parsed.ok ? parsed : null;
      });
      const { epoch, externalPort, lifetimeSeconds: lifetime } = result.value;
      lastPort = externalPort;
      const externalIPv4 = address.ok ? address.value.externalIPv4 : 0;
      return {
        ok: true,
        mapping: {
          protocol: 'natpmp',
          externalIPv4,
          externalPort,
          internalPort,
          lifetimeSeconds: lifetime,
          epoch,
        },
      };
    },
    async unmap(mapping) {
      const result = await mapExchange(mapping.internalPort, 0, 0, true);
      return result.ok && result.value.ok;
    },
  };
}

const upnpUrlSchema = z
  .object({
    host: ipv4Schema,
    port: z.number().int().min(1).max(65535),
    path: z.string().regex(/^\/[\x21-\x7e]{0,511}$/),
  })
  .strict();
const upnpServiceSchema = z
  .object({
    serviceType: z.string().regex(/^urn:schemas-upnp-org:service:WAN(IP|PPP)Connection:[12]$/),
    control: upnpUrlSchema,
  })
  .strict();

function httpRequest(method: string, url: UpnpUrl, headers: readonly string[], body = ''): Uint8Array {
  const lines = [
    `${method} ${url.path} HTTP/1.1`,
    `Host: ${url.host}:${url.port}`,
    'Connection: close',
    ...headers,
  ];
  if (body.length > 0)
    lines.push('Content-Type: text/xml; charset="utf-8"', `Content-Length: ${Buffer.byteLength(body)}`);
  return new Uint8Array(Buffer.from(`${lines.join('\r\n')}\r\n\r\n${body}`, 'latin1'));
}

async function http(
  url: UpnpUrl,
  request: Uint8Array,
): Promise<{ status: number; body: string; localAddress: string } | string> {
  const result = await tcpExchange({
    host: url.host,
    port: url.port,
    request,
    timeoutMs: HTTP_ATTEMPT_MS,
    maxBytes: MAX_HTTP_ANSWER,
  });
  if (!result.ok) return result.reason;
  const parsed = parseHttpAnswer(result.value);
  return parsed.ok ? { ...parsed.value, localAddress: result.localAddress } : parsed.reason;
}

export function upnpClient(target: GatewayTarget): ProtocolClient {
  const { gateway } = target;
  let service: UpnpService | null = null;

  const discover = async (): Promise<UpnpService | string> => {
    const search = await udpExchange({
      gateway,
      port: target.ssdpPort ?? SSDP_PORT,
      request: ssdpSearch,
      judge: (answer) => {
        const parsed = parseSsdpAnswer(answer, gateway);
        return parsed.ok ? parsed.value : null;
      },
      timeoutMs: UDP_ATTEMPT_MS,
      resendMs: UDP_RESEND_MS,
    });
    if (!search.ok) return search.reason;
    const location = upnpUrlSchema.safeParse(search.value);
    if (!location.success) return 'bad-location';
    const description = await http(location.data, httpRequest('GET', location.data, []));
    if (typeof description === 'string') return description;
    if (description.status !== 200) return `description status ${description.status}`;
    const found = parseDescription(description.body, gateway, location.data);
    if (!found.ok) return found.reason;
    const checked = upnpServiceSchema.safeParse(found.value);
    return checked.success ? checked.data : 'bad-service';
  };

  const soap = (wanted: UpnpService, action: string, args: Parameters<typeof soapRequest>[2]) => {
    const { body, soapAction } = soapRequest(wanted.serviceType, action, args);
    return http(wanted.control, httpRequest('POST', wanted.control, [`SOAPAction: ${soapAction}`], body));
  };

  return {
    protocol: 'upnp',
    async map(internalPort, lifetimeSeconds) {
      const known = service ?? (await discover());
      if (typeof known === 'string') return failed(known, true);
      service = known;
      // The internal client is the address the gateway saw us connect from.
      const probe = await soap(known, 'GetExternalIPAddress', []);
      if (typeof probe === 'string') {
        service = null;
        return failed(probe, true);
      }
      const external = parseExternalAddress(probe.body);
      const added = await soap(
        known,
        'AddPortMapping',
        addPortMappingArgs({
          externalPort: internalPort,
          internalPort,
          internalClient: probe.localAddress,
          leaseSeconds: lifetimeSeconds,
        }),
      );
      if (typeof added === 'string') return failed(added, false);
      const status = parseSoapStatus(added.status, added.body);
      if (!status.ok) return failed('code' in status ? `UPnP error ${status.code}` : status.reason, false);
      return {
        ok: true,
        mapping: {
          protocol: 'upnp',
          externalIPv4: external.ok ? external.value : 0,
          externalPort: internalPort,
          internalPort,
          lifetimeSeconds,
          epoch: null,
        },
      };
    },
    async unmap(mapping) {
      if (service === null) return false;
      const answer = await soap(service, 'DeletePortMapping', deletePortMappingArgs(mapping.externalPort));
      return typeof answer !== 'string' && answer.status === 200;
    },
  };
}

export function protocolClient(protocol: PortMappingProtocol, target: GatewayTarget): ProtocolClient {
  switch (protocol) {
    case 'pcp':
      return pcpClient(target);
    case 'natpmp':
      return natPmpClient(target);
    case 'upnp':
      return upnpClient(target);
  }
}

export const describeMapping = (mapping: PortMapping): Record<string, unknown> => ({
  protocol: mapping.protocol,
  externalAddress: mapping.externalIPv4 === 0 ? null : formatIPv4(mapping.externalIPv4),
  externalPort: mapping.externalPort,
  internalPort: mapping.internalPort,
  lifetime: mapping.lifetimeSeconds,
});
