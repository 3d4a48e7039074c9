/**
 * Capabilities as /proc shows them: the bootstrap's own (may it start without root?) and, in
 * the engine started by miredo-engine-launch, every thread's (none may hold any). The parsing is
 * pure; reading /proc is the two small functions at the end.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Capability numbers (linux/capability.h) the daemon deals with. */
export const CAP_NET_ADMIN = 12;
export const CAP_NET_RAW = 13;
export const CAP_SYS_CHROOT = 18;

export interface TaskPrivileges {
  readonly inheritable: bigint;
  readonly permitted: bigint;
  readonly effective: bigint;
  readonly ambient: bigint;
  readonly noNewPrivs: boolean;
}

const FIELDS = {
  CapInh: 'inheritable',
  CapPrm: 'permitted',
  CapEff: 'effective',
  CapAmb: 'ambient',
} as const;

/** The capability sets and no_new_privs of a /proc/<pid>/status text; null when one is missing. */
export function parseTaskPrivileges(status: string): TaskPrivileges | null {
  const values = new Map<string, string>();
  for (const line of status.split('\n')) {
    const match = /^(\w+):\s*([0-9a-f]+)$/.exec(line);
    if (match !== null) values.set(match[1] ?? '', match[2] ?? '');
  }
  const sets: Record<string, bigint> = {};
  for (const [field, name] of Object.entries(FIELDS)) {
    const hex = values.get(field);
    if (hex === undefined || !/^[0-9a-f]{1,16}$/.test(hex)) return null;
    sets[name] = BigInt(`0x${hex}`);
  }
  const noNewPrivs = values.get('NoNewPrivs');
  if (noNewPrivs !== '0' && noNewPrivs !== '1') return null;
  return {
    inheritable: sets['inheritable'] ?? 0n,
    permitted: sets['permitted'] ?? 0n,
    effective: sets['effective'] ?? 0n,
    ambient: sets['ambient'] ?? 0n,
    noNewPrivs: noNewPrivs === '1',
  };
}

export const hasCapability = (set: bigint, capability: number): boolean =>
  ((set >> BigInt(capability)) & 1n) === 1n;

/** What is wrong with a thread that must hold no privilege at all, or null. */
export function privilegeProblem(privileges: TaskPrivileges | null): string | null {
  if (privileges === null) return 'unreadable status';
  const { inheritable, permitted, effective, ambient, noNewPrivs } = privileges;
  const sets: ReadonlyArray<readonly [string, bigint]> = [
    ['CapInh', inheritable],
    ['CapPrm', permitted],
    ['CapEff', effective],
    ['CapAmb', ambient],
  ];
  const held = sets.filter(([, set]) => set !== 0n).map(([name, set]) => `${name} ${set.toString(16)}`);
  if (!noNewPrivs) held.push('no_new_privs unset');
  return held.length === 0 ? null : held.join(', ');
}

/** The calling process's effective set (/proc/self/status). */
export function ownEffectiveCapabilities(): bigint {
  return parseTaskPrivileges(readFileSync('/proc/self/status', 'utf8'))?.effective ?? 0n;
}

/** Every thread of this process that holds a capability or lacks no_new_privs, as "tid: why". */
export function privilegedThreads(taskDir = '/proc/self/task'): string[] {
  const problems: string[] = [];
  for (const tid of readdirSync(taskDir)) {
    let text: string;
    try {
      text = readFileSync(`${taskDir}/${tid}/status`, 'utf8');
    } catch {
      continue; // the thread ended meanwhile
    }
    const problem = privilegeProblem(parseTaskPrivileges(text));
    if (problem !== null) problems.push(`thread ${tid}: ${problem}`);
  }
  return problems;
}
