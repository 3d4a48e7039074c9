/**
 * What the demo needs before it touches anything, checked in this order, each failure a single
 * sentence that says what to do: root, the TUN device, a built project (CLI and native addon).
 */
import { join } from 'node:path';

export interface PreconditionProbe {
  isRoot(): boolean;
  exists(path: string): boolean;
}

export type PreconditionResult = { readonly ok: true } | { readonly ok: false; readonly message: string };

export const TUN_DEVICE = '/dev/net/tun';

/** Files a build leaves behind (relative to the repository root): our daemons' CLIs and the addon. */
export const BUILD_OUTPUTS: readonly string[] = [
  'dist/bundle/cli/miredo.js',
  'dist/bundle/cli/miredo-server.js',
  'build/Release/miredo_native.node',
];

export function checkPreconditions(probe: PreconditionProbe, repoRoot: string): PreconditionResult {
  if (!probe.isRoot()) {
    return {
      ok: false,
      message: 'The demo builds network namespaces and TUN interfaces: run it with sudo (sudo npm run demo).',
    };
  }
  if (!probe.exists(TUN_DEVICE)) {
    return {
      ok: false,
      message: `${TUN_DEVICE} is missing: load the tun kernel module (modprobe tun) or give the container the device.`,
    };
  }
  const missing = BUILD_OUTPUTS.filter((path) => !probe.exists(join(repoRoot, path)));
  if (missing.length > 0) {
    return {
      ok: false,
      message: `The project is not built (missing ${missing.join(', ')}): run npm ci, then npm run build.`,
    };
  }
  return { ok: true };
}
