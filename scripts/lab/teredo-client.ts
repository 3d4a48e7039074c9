/** A Teredo client daemon in the lab, and the address it ends up with on its tunnel interface. */
import { accessSync, constants } from 'node:fs';
import { clientHookPath } from '../../src/bootstrap/client-hook.js';
import type { LabDaemon } from './daemon.js';
import type { LabNamespace } from './namespace.js';
import { findTeredoAddress, ipv6AddressesFromJson } from './teredo-address.js';
import type { TeredoAddressInfo } from './teredo-address.js';
import { pollUntil } from './wait.js';

export interface Qualified extends TeredoAddressInfo {
  /** From starting the daemon to the address showing on the interface. */
  readonly elapsedMs: number;
}

export class TeredoClient {
  constructor(
    readonly daemon: LabDaemon,
    private readonly namespace: LabNamespace,
    readonly interfaceName: string,
  ) {}

  get node(): string {
    return this.daemon.node;
  }

  /** The Teredo address on the tunnel interface now, if any. */
  async currentAddress(): Promise<TeredoAddressInfo | null> {
    const result = await this.namespace.exec('ip', ['-j', '-6', 'addr', 'show', 'dev', this.interfaceName]);
    if (result.code !== 0) return null;
    return findTeredoAddress(ipv6AddressesFromJson(result.stdout));
  }

  /** Resolves once an address in 2001:0::/32 is on the interface; rejects (with the daemon's output) at the deadline or if it exits. */
  async waitQualified(timeoutMs: number): Promise<Qualified> {
    const info = await pollUntil(
      async () => (await this.currentAddress()) ?? undefined,
      timeoutMs,
      `a Teredo address on ${this.node}'s ${this.interfaceName}`,
      this.daemon,
    );
    const elapsedMs = Date.now() - this.daemon.startedAt;
    // Our client runs Miredo's client hook after configuring the tunnel itself; Debian's hook
    // flushes and re-adds the address and routes, so traffic sent before it is done may be lost.
    if (this.daemon.impl === 'ours' && hookInstalled()) {
      await this.daemon.waitForOutput(/Client hook up done/, Math.max(1000, timeoutMs - elapsedMs));
    }
    return { ...info, elapsedMs };
  }

  /** Resolves with the next address other than `previous` (a NAT mapping that changed, say). */
  async waitAddressChange(previous: string, timeoutMs: number): Promise<Qualified> {
    const info = await pollUntil(
      async () => {
        const current = await this.currentAddress();
        return current !== null && current.address !== previous ? current : undefined;
      },
      timeoutMs,
      `a new Teredo address on ${this.node} (was ${previous})`,
      this.daemon,
    );
    return { ...info, elapsedMs: Date.now() - this.daemon.startedAt };
  }

  stop(graceMs?: number): ReturnType<LabDaemon['stop']> {
    return this.daemon.stop(graceMs);
  }
}

function hookInstalled(): boolean {
  try {
    accessSync(clientHookPath(), constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
