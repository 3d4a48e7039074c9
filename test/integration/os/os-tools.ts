/** Helpers for scenarios running inside a test namespace: `ip` JSON output, descriptor flags. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8' });
}

export function ipJson<T>(...args: string[]): T {
  return JSON.parse(ip('-j', ...args)) as T;
}

export interface IpLink {
  readonly ifname: string;
  readonly ifindex: number;
  readonly flags: readonly string[];
  readonly mtu: number;
  readonly linkinfo?: {
    readonly info_kind: string;
    readonly info_data?: {
      readonly type: string;
      readonly pi: boolean;
      readonly multi_queue: boolean;
      readonly numqueues?: number;
    };
  };
}

export function link(name: string): IpLink | undefined {
  const all = ipJson<IpLink[]>('-d', 'link', 'show');
  return all.find((entry) => entry.ifname === name);
}

export interface IpAddressInfo {
  readonly local: string;
  readonly prefixlen: number;
}

export function addresses6(ifname: string): readonly IpAddressInfo[] {
  const entries = ipJson<{ addr_info: IpAddressInfo[] }[]>('-6', 'addr', 'show', 'dev', ifname);
  return entries.flatMap((entry) => entry.addr_info);
}

export interface IpRoute {
  readonly dst: string;
  readonly metric?: number;
}

export function routes6(ifname: string): readonly IpRoute[] {
  return ipJson<IpRoute[]>('-6', 'route', 'show', 'dev', ifname);
}

/** The open-file flags of one of our descriptors (octal field of /proc/self/fdinfo). */
export function fdFlags(fd: number): number {
  const match = /^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
  if (match?.[1] === undefined) throw new Error(`no flags for fd ${fd}`);
  return Number.parseInt(match[1], 8);
}

export const O_NONBLOCK = 0o4000;
export const O_CLOEXEC = 0o2000000;

export function isOpen(fd: number): boolean {
  try {
    readFileSync(`/proc/self/fdinfo/${fd}`);
    return true;
  } catch {
    return false;
  }
}

/** Asserts that `call` throws an Error whose `code` is `code`; returns it for further checks. */
export function expectErrno(call: () => unknown, code: string): NodeJS.ErrnoException {
  try {
    call();
  } catch (error) {
    assert.ok(error instanceof Error, `threw a non-Error: ${String(error)}`);
    const errno = error as NodeJS.ErrnoException;
    assert.equal(errno.code, code, `expected ${code}, got ${errno.code}: ${errno.message}`);
    assert.equal(typeof errno.syscall, 'string');
    return errno;
  }
  assert.fail(`expected ${code}, nothing was thrown`);
}
