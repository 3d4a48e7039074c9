/**
 * Live packet captures inside a lab node with tshark: one `-i any` capture, decoded as it goes
 * (Teredo recognised on every UDP port), one CapturedPacket per packet.
 *
 * libpcap hands packets over in blocks, so the last ones can still be in the kernel's ring when
 * we want to stop. stop() therefore sends a marker datagram to the node's own loopback and ends
 * tshark only once the marker came out: everything before it has been seen.
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { EventEmitter } from 'node:events';
import { randomInt } from 'node:crypto';
import type { LabNamespace } from './namespace.js';

export const TSHARK = '/usr/bin/tshark';
/** tshark logs this once dumpcap has opened the interface ("Capturing on ..." comes earlier). */
const CAPTURE_STARTED = 'Capture started';

export type PacketKind =
  | 'bubble'
  | 'router-solicitation'
  | 'router-advertisement'
  | 'echo-request'
  | 'echo-reply'
  | 'other-ipv6'
  | 'not-ipv6';

export interface CapturedPacket {
  /** Seconds since the capture started. */
  readonly time: number;
  /** Outer IPv4/UDP, or null (native IPv6, ARP...). */
  readonly udp: {
    readonly src: string;
    readonly srcPort: number;
    readonly dst: string;
    readonly dstPort: number;
  } | null;
  /** The IPv6 packet (inner for Teredo), or null. */
  readonly ipv6: { readonly src: string; readonly dst: string } | null;
  readonly kind: PacketKind;
  /** Teredo origin indication, in clear. */
  readonly origin: { readonly ipv4: string; readonly port: number } | null;
  /** Teredo authentication header nonce (hex), present on RS and RA. */
  readonly nonce: string | null;
}

export interface CaptureOptions {
  /** A capture (BPF) filter. */
  readonly filter?: string;
  /** Only packets the node receives (no duplicates when it routes between interfaces). */
  readonly inboundOnly?: boolean;
}

const FIELDS = [
  'frame.time_relative',
  'ip.src',
  'udp.srcport',
  'ip.dst',
  'udp.dstport',
  'ipv6.src',
  'ipv6.dst',
  'ipv6.nxt',
  'ipv6.plen',
  'icmpv6.type',
  'teredo.orig.addr',
  'teredo.orig.port',
  'teredo.auth.nonce',
] as const;

const ICMPV6_KINDS: Readonly<Record<string, PacketKind>> = {
  '133': 'router-solicitation',
  '134': 'router-advertisement',
  '128': 'echo-request',
  '129': 'echo-reply',
};

/** One line of `tshark -T fields` with FIELDS (tab-separated, first occurrences); null if malformed. */
export function parseCapturedLine(line: string): CapturedPacket | null {
  const values = line.split('\t').map((value) => value.trim());
  if (values.length !== FIELDS.length) return null;
  const field = (name: (typeof FIELDS)[number]): string => values[FIELDS.indexOf(name)] ?? '';
  const hasIPv6 = field('ipv6.src') !== '';
  const bubble = field('ipv6.nxt') === '59' && field('ipv6.plen') === '0';
  const kind: PacketKind = !hasIPv6
    ? 'not-ipv6'
    : bubble
      ? 'bubble'
      : (ICMPV6_KINDS[field('icmpv6.type')] ?? 'other-ipv6');
  return {
    time: Number(field('frame.time_relative')),
    udp:
      field('ip.src') !== '' && field('udp.srcport') !== ''
        ? {
            src: field('ip.src'),
            srcPort: Number(field('udp.srcport')),
            dst: field('ip.dst'),
            dstPort: Number(field('udp.dstport')),
          }
        : null,
    ipv6: hasIPv6 ? { src: field('ipv6.src'), dst: field('ipv6.dst') } : null,
    kind,
    origin:
      field('teredo.orig.addr') !== ''
        ? { ipv4: field('teredo.orig.addr'), port: Number(field('teredo.orig.port')) }
        : null,
    nonce: field('teredo.auth.nonce') === '' ? null : field('teredo.auth.nonce').replace(/:/g, ''),
  };
}

export function formatCapturedPacket(packet: CapturedPacket): string {
  const outer =
    packet.udp === null
      ? 'native'
      : `${packet.udp.src}:${packet.udp.srcPort} → ${packet.udp.dst}:${packet.udp.dstPort}`;
  const inner = packet.ipv6 === null ? '' : ` ${packet.ipv6.src} → ${packet.ipv6.dst}`;
  const origin = packet.origin === null ? '' : ` [origin ${packet.origin.ipv4}:${packet.origin.port}]`;
  return `${packet.time.toFixed(3)} ${outer} ${packet.kind}${inner}${origin}`;
}

/** The BPF filter for tshark -f, or null for everything. A given filter must still let the marker through. */
export function captureFilter(markerPort: number, options: CaptureOptions): string | null {
  const marker = `(host 127.0.0.1 and udp dst port ${markerPort})`;
  const wanted = options.filter === undefined ? null : `(${options.filter}) or ${marker}`;
  if (options.inboundOnly !== true) return wanted;
  return wanted === null ? 'inbound' : `inbound and (${wanted})`;
}

export class PacketCapture {
  /** Every packet so far, marker excluded. */
  readonly packets: CapturedPacket[] = [];
  private readonly events = new EventEmitter();
  private stopped: Promise<readonly CapturedPacket[]> | null = null;
  private stderr = '';

  private constructor(
    readonly node: string,
    private readonly ns: LabNamespace,
    private readonly child: ChildProcess,
    private readonly markerPort: number,
  ) {
    let pending = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      pending += chunk;
      let newline = pending.indexOf('\n');
      while (newline !== -1) {
        this.take(pending.slice(0, newline));
        pending = pending.slice(newline + 1);
        newline = pending.indexOf('\n');
      }
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      this.stderr += chunk;
      if (this.stderr.includes(CAPTURE_STARTED)) this.events.emit('capturing');
    });
  }

  /** Starts tshark in `ns` and resolves once it captures. */
  static async start(node: string, ns: LabNamespace, options: CaptureOptions = {}): Promise<PacketCapture> {
    const markerPort = randomInt(20_000, 60_000);
    const fields = FIELDS.flatMap((name) => ['-e', name]);
    const filter = captureFilter(markerPort, options);
    const child = ns.spawn(
      TSHARK,
      [
        '-i',
        'any',
        ...(filter === null ? [] : ['-f', filter]),
        '-y',
        'LINUX_SLL2',
        '-l',
        '-n',
        '--enable-heuristic',
        'teredo_udp',
        '-T',
        'fields',
        '-E',
        'separator=/t',
        '-E',
        'occurrence=f',
        ...fields,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const capture = new PacketCapture(node, ns, child, markerPort);
    await capture.waitFor('capturing', 10_000, 'tshark to start capturing');
    return capture;
  }

  /** Calls `listener` for each packet as it is decoded (a live view). */
  onPacket(listener: (packet: CapturedPacket) => void): void {
    this.events.on('packet', listener);
  }

  /** Ends the capture once every packet sent before the call has been decoded; a second call returns the same list. */
  stop(): Promise<readonly CapturedPacket[]> {
    this.stopped ??= this.drainAndEnd();
    return this.stopped;
  }

  /** Ends tshark at once, without waiting for packets in flight. */
  async end(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.kill('SIGINT');
    await exited;
  }

  private async drainAndEnd(): Promise<readonly CapturedPacket[]> {
    const script = `require('node:dgram').createSocket('udp4').send('mark', ${this.markerPort}, '127.0.0.1', (e) => process.exit(e ? 1 : 0))`;
    let seen = false;
    for (let attempt = 0; attempt < 5 && !seen; attempt++) {
      const marked = this.waitFor('marker', 2000, 'the end-of-capture marker').then(
        () => true,
        () => false,
      );
      await this.ns.run(process.execPath, ['-e', script]);
      seen = await marked;
    }
    await this.end();
    if (!seen) throw new Error(`${this.node}: the capture never saw its end marker\n${this.stderr}`);
    return this.packets;
  }

  private take(line: string): void {
    const packet = parseCapturedLine(line);
    if (packet === null) return;
    if (packet.udp?.dst === '127.0.0.1' && packet.udp.dstPort === this.markerPort) {
      this.events.emit('marker');
      return;
    }
    this.packets.push(packet);
    this.events.emit('packet', packet);
  }

  private waitFor(event: 'capturing' | 'marker', timeoutMs: number, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = (error?: Error): void => {
        clearTimeout(timer);
        this.events.off(event, onEvent);
        this.child.off('exit', onExit);
        if (error === undefined) resolve();
        else reject(error);
      };
      const onEvent = (): void => done();
      const onExit = (): void =>
        done(new Error(`${this.node}: tshark exited while waiting for ${what}\n${this.stderr}`));
      const timer = setTimeout(
        () => done(new Error(`${this.node}: no ${what} within ${timeoutMs} ms\n${this.stderr}`)),
        timeoutMs,
      );
      this.events.once(event, onEvent);
      this.child.once('exit', onExit);
      if (event === 'capturing' && this.stderr.includes(CAPTURE_STARTED)) done();
    });
  }
}
