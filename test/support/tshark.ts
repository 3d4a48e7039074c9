/**
 * Decoding pcap files with tshark, as an independent judge of the packets our code builds.
 * Each packet becomes a flat map from field name (e.g. `ipv6.plen`, `teredo.orig.port`) to its
 * values in document order, so a field that occurs in nested headers (the packet quoted in an
 * ICMPv6 error) has several values, outermost first. Protocol and subtree nodes (`teredo.auth`,
 * `teredo.orig`) are present with the value ''.
 *
 * IP and UDP checksum validation is switched on; ICMPv6 checksums are always validated. The
 * `*.checksum.status` fields are '1' when the checksum is correct (tshark 4.0 JSON).
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const TSHARK = process.env['TSHARK'] ?? 'tshark';
export const CHECKSUM_GOOD = '1';

export type PacketFields = ReadonlyMap<string, readonly string[]>;

export interface DecodeOptions {
  /** UDP ports to dissect as Teredo besides 3544 (e.g. a client's ephemeral port). */
  readonly teredoPorts?: readonly number[];
  /** Enable tshark's (default-off) heuristic Teredo dissector on every UDP port. */
  readonly teredoHeuristic?: boolean;
  /** Display filter (`-Y`). */
  readonly filter?: string;
}

let cachedAvailability: boolean | undefined;

export function haveTshark(): boolean {
  if (cachedAvailability === undefined) {
    try {
      execFileSync(TSHARK, ['--version'], { stdio: 'ignore' });
      cachedAvailability = true;
    } catch {
      cachedAvailability = false;
    }
  }
  return cachedAvailability;
}

export function inCI(): boolean {
  return process.env['CI'] === 'true';
}

/**
 * For `test(name, { skip: tsharkSkip() }, ...)`: a one-line reason when tshark is absent outside
 * CI. In CI (CI=true) a missing tshark is not a reason to skip: the test runs and fails.
 */
export function tsharkSkip(): string | false {
  if (haveTshark() || inCI()) return false;
  return `${TSHARK} not found (install Debian package tshark, or run scripts/install-debian-deps.sh)`;
}

export function tsharkArguments(file: string, options: DecodeOptions = {}): string[] {
  const args = ['-r', file, '-n', '-T', 'json', '--no-duplicate-keys'];
  args.push('-o', 'ip.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE');
  for (const port of options.teredoPorts ?? []) args.push('-d', `udp.port==${port},teredo`);
  if (options.teredoHeuristic === true) args.push('--enable-heuristic', 'teredo_udp');
  if (options.filter !== undefined) args.push('-Y', options.filter);
  return args;
}

function collect(node: unknown, fields: Map<string, string[]>): void {
  if (Array.isArray(node)) {
    for (const item of node) collect(item, fields);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  for (const [key, value] of Object.entries(node as Record<string, unknown>)) {
    const values = Array.isArray(value) ? (value as unknown[]) : [value];
    for (const item of values) {
      const leaf = typeof item === 'string' ? item : '';
      const list = fields.get(key);
      if (list === undefined) fields.set(key, [leaf]);
      else list.push(leaf);
      if (typeof item === 'object') collect(item, fields);
    }
  }
}

/** Turns `tshark -T json` output into one flat field map per packet. */
export function parseTsharkJson(json: string): PacketFields[] {
  const packets: unknown = JSON.parse(json);
  if (!Array.isArray(packets)) throw new Error('tshark JSON output is not an array');
  return packets.map((packet: unknown) => {
    const layers = (packet as { _source?: { layers?: unknown } })._source?.layers;
    if (layers === undefined) throw new Error('tshark JSON packet without _source.layers');
    const fields = new Map<string, string[]>();
    collect(layers, fields);
    return fields;
  });
}

export async function decodePcap(file: string, options: DecodeOptions = {}): Promise<PacketFields[]> {
  if (!haveTshark()) {
    throw new Error(
      `${TSHARK} is required here but was not found${inCI() ? ' (CI=true: not skipping)' : ''}`,
    );
  }
  const { stdout } = await run(TSHARK, tsharkArguments(file, options), { maxBuffer: 256 * 1024 * 1024 });
  return parseTsharkJson(stdout);
}

/** All values of `name` in a packet (empty when the field is absent). */
export function values(packet: PacketFields, name: string): readonly string[] {
  return packet.get(name) ?? [];
}

/** The first (outermost) value of `name`; throws when the field is absent. */
export function field(packet: PacketFields, name: string): string {
  const value = packet.get(name)?.[0];
  if (value === undefined) throw new Error(`tshark did not report field ${name}`);
  return value;
}
