/**
 * The configuration parsers (miredo.conf and miredo-server.conf) on mutated files, with the
 * directive names, values and prototype names in the dictionary. Invariants: nothing throws;
 * every diagnostic names the file and a line that exists; a valid result comes with no error.
 */
import { parseMiredoConf } from '../../../src/config/miredo-conf.js';
import { parseServerConf } from '../../../src/config/server-conf.js';
import type { ConfigResult } from '../../../src/config/diagnostic.js';
import { mutateLines } from '../mutate-text.js';
import { TEXT_CODEC, invariant } from '../target.js';
import type { FuzzTarget } from '../target.js';

const FILE = 'fuzz.conf';

const MIREDO_WORDS = [
  'RelayType',
  'client',
  'autoclient',
  'cone',
  'relay',
  'restricted',
  'ServerAddress',
  'ServerAddress2',
  'InterfaceName',
  'BindAddress',
  'BindPort',
  'Prefix',
  'InterfaceMTU',
  'SyslogFacility',
  'daemon',
  'local7',
  'PeerTableCapacity',
  'DataplaneWorkers',
  '192.0.2.1',
  'teredo.example',
  '2001:0::',
  'ff00::',
  '1280',
  '65535',
  '3544',
  '0x0dd8',
  '017',
  'teredo0',
  'LocalDiscovery',
  'yes',
  'no',
];
const SERVER_WORDS = [
  'ServerBindAddress',
  'ServerBindAddress2',
  'Prefix',
  'InterfaceMTU',
  'SyslogFacility',
  'RSRateLimit',
  'ForwardRateLimit',
  '192.0.2.1',
  '198.51.100.1',
  '10.0.0.1',
  '2001:0::',
  '1280',
  '0',
  '50',
];

const KNOWN = new Set([...MIREDO_WORDS, ...SERVER_WORDS].map((word) => word.toLowerCase()));

function checkResult(result: ConfigResult<unknown>, text: string): string {
  const lines = text.split('\n').length;
  const diagnostics = result.ok ? result.warnings : result.errors;
  for (const diagnostic of diagnostics) {
    invariant(diagnostic.file === FILE, 'diagnostics name the file');
    invariant(
      Number.isInteger(diagnostic.line) && diagnostic.line >= 0 && diagnostic.line <= lines + 1,
      `line ${diagnostic.line} of ${lines}`,
    );
  }
  const named = (d: { readonly directive?: string | undefined }): string => {
    const name = (d.directive ?? '').toLowerCase();
    return KNOWN.has(name) ? name : '?';
  };
  const directives = new Set(diagnostics.map((d) => `${d.severity[0]}${named(d)}`));
  return `${result.ok ? 'ok' : 'err'}:${[...directives].sort().join(',')}`;
}

export const CONFIG_TARGETS: readonly FuzzTarget<string>[] = [
  {
    name: 'miredo-conf',
    codec: TEXT_CODEC,
    seeds: () => [
      'RelayType client\nServerAddress 192.0.2.1\nServerAddress2 192.0.2.2\nBindPort 3545\n',
      'RelayType cone\nPrefix 2001:0::\nInterfaceMTU 1400\nInterfaceName teredo\nSyslogFacility local3\n',
      '# comment\nRelayType restricted\nBindAddress 0.0.0.0\nPeerTableCapacity 4096\nDataplaneWorkers 2\n',
    ],
    mutate: (seed, random) => mutateLines(seed, random, MIREDO_WORDS),
    run: (text) => checkResult(parseMiredoConf(text, FILE), text),
  },
  {
    name: 'server-conf',
    codec: TEXT_CODEC,
    seeds: () => [
      'ServerBindAddress 192.0.2.1\nServerBindAddress2 192.0.2.2\nPrefix 2001:0::\nInterfaceMTU 1280\n',
      'ServerBindAddress 198.51.100.1\nRSRateLimit 50\nForwardRateLimit 0\nSyslogFacility daemon\n',
    ],
    mutate: (seed, random) => mutateLines(seed, random, SERVER_WORDS),
    run: (text) => checkResult(parseServerConf(text, FILE), text),
  },
];
