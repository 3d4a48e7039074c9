/**
 * Lab tests run their clients without whatever client hook the host has installed
 * (client-hook.test.ts covers hooks): the hook variable names a path that does not exist.
 */
import { CLIENT_HOOK_ENV } from '../../src/bootstrap/client-hook.js';

/** Turns the host's client hook off for the suite; the returned function restores it. */
export function turnClientHookOff(): () => void {
  const saved = process.env[CLIENT_HOOK_ENV];
  process.env[CLIENT_HOOK_ENV] = '/nonexistent/miredo-ts-client-hook';
  return () => {
    if (saved === undefined) delete process.env[CLIENT_HOOK_ENV];
    else process.env[CLIENT_HOOK_ENV] = saved;
  };
}
