/**
 * SharedRelayAddress (relay, our extension: README "One relay address for the fleet"): every
 * relay of the fleet binds one IPv4 address and port, so both must be given.
 */
import type { SettingReader } from './setting-reader.js';

const ANY_ADDRESS = '0.0.0.0';

/** Reports an error at SharedRelayAddress's `line` for a missing (or wildcard) BindAddress or BindPort. */
export function checkSharedAddress(
  reader: SettingReader,
  line: number,
  bindAddress: string | undefined,
  bindPort: number | undefined,
): void {
  if (bindAddress === undefined || bindAddress === ANY_ADDRESS) {
    const message = 'needs BindAddress: the IPv4 address every relay of the fleet has';
    reader.report(line, 'SharedRelayAddress', 'error', message);
  }
  if (bindPort === undefined || bindPort === 0) {
    reader.report(
      line,
      'SharedRelayAddress',
      'error',
      'needs BindPort: the UDP port every relay of the fleet binds',
    );
  }
}
