/**
 * A relay's announcement (AnnounceTable): its prefix route, on its own tunnel, in a routing table
 * that routes nothing, which a BGP daemon on the host learns and announces (BIRD's kernel
 * protocol with `kernel table N; learn;`); or in the main table with a metric of its own below the
 * forwarding route's (AnnounceMetric), which FRR 8.4 announces with `redistribute kernel` and a
 * route-map matching that metric (it learns IPv6 routes from no other table). The route is there
 * only while the data plane works: the engine is running, its health reports
 * (engine/health-monitor.ts) keep coming, and they name no stalled worker; and the relay is not
 * draining. The forwarding route (metric 1024 in the main table) is never touched: packets that
 * still arrive while routers converge are forwarded as before.
 *
 * The bootstrap owns it (it holds CAP_NET_ADMIN; the engine cannot add routes, and a wedged
 * engine could not withdraw its own). If the bootstrap itself dies, the tunnel goes with it,
 * and the kernel removes every route through the tunnel, this one included.
 */
import type { HealthMessage } from '../ipc/bootstrap-engine-messages.js';
import type { Logger } from '../log/logger.js';
import type { TableRoute } from '../os/route-table.js';
import { errnoText } from './errno-text.js';
import type { OsApi } from './os-api.js';

/** No health report for this long: the engine is wedged (it reports every 250 ms). */
export const HEALTH_TIMEOUT_MS = 1000;
/** How often the timeout is checked. */
export const ANNOUNCER_TICK_MS = 100;

export type AnnouncementState = 'announced' | 'withdrawn';

export interface AnnouncerOptions {
  readonly route: TableRoute;
  /** For its description in the log: 2001::/32. */
  readonly prefixText: string;
  readonly os: Pick<OsApi, 'setTableRoute6'>;
  readonly log: Logger;
  /** Told each time the route is added or removed. */
  readonly changed?: (state: AnnouncementState, reason: string) => void;
  readonly now?: () => number;
  readonly healthTimeoutMs?: number;
  readonly tickMs?: number;
}

export class Announcer {
  private state: AnnouncementState = 'withdrawn';
  /** When the last report with every worker alive came; null: none since the engine (re)started. */
  private healthyAt: number | null = null;
  private stalled: readonly number[] = [];
  private draining = false;
  private stopped = false;
  private applying: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;
  private readonly now: () => number;
  private readonly timeoutMs: number;

  constructor(private readonly options: AnnouncerOptions) {
    this.now = options.now ?? (() => performance.now());
    this.timeoutMs = options.healthTimeoutMs ?? HEALTH_TIMEOUT_MS;
    this.timer = setInterval(() => this.evaluate(), options.tickMs ?? ANNOUNCER_TICK_MS);
    this.timer.unref();
    // A table left with our route by a bootstrap that was killed: start from nothing.
    this.apply('withdrawn', 'starting');
  }

  get announced(): boolean {
    return this.state === 'announced';
  }

  get isDraining(): boolean {
    return this.draining;
  }

  health(message: HealthMessage): void {
    this.stalled = message.stalled;
    if (message.stalled.length === 0) this.healthyAt = this.now();
    this.evaluate();
  }

  /** The engine exited (or is being replaced): nothing forwards until the next one reports. */
  engineGone(): void {
    this.healthyAt = null;
    this.evaluate();
  }

  /** Withdraws for good (the relay is stopping); resolves once the route is removed. */
  drain(): Promise<void> {
    this.draining = true;
    this.evaluate();
    return this.applying;
  }

  /** Withdraws and stops watching; resolves once the route is removed. */
  stop(): Promise<void> {
    this.draining = true;
    this.evaluate();
    this.stopped = true;
    clearInterval(this.timer);
    return this.applying;
  }

  /** Why the route should be absent now, or null when it should be announced. */
  private withdrawReason(): string | null {
    if (this.draining) return 'draining';
    if (this.healthyAt === null) return 'the engine is not running';
    if (this.stalled.length > 0) return `data-plane worker(s) ${this.stalled.join(', ')} stalled`;
    const silentMs = this.now() - this.healthyAt;
    if (silentMs > this.timeoutMs) return `no health report from the engine for ${Math.round(silentMs)} ms`;
    return null;
  }

  private evaluate(): void {
    if (this.stopped) return;
    const reason = this.withdrawReason();
    const wanted: AnnouncementState = reason === null ? 'announced' : 'withdrawn';
    if (wanted !== this.state) this.apply(wanted, reason ?? 'the data plane works');
  }

  private apply(wanted: AnnouncementState, reason: string): void {
    const { os, route, log, prefixText } = this.options;
    const previous = this.state;
    this.state = wanted;
    this.applying = this.applying.then(async () => {
      try {
        await os.setTableRoute6(route, wanted === 'announced');
      } catch (error) {
        log.error(
          'Cannot %s %s in table %d: %s',
          wanted === 'announced' ? 'announce' : 'withdraw',
          prefixText,
          route.table,
          errnoText(error),
        );
        // Tried again on the next tick.
        if (this.state === wanted) this.state = previous;
        return;
      }
      if (reason === 'starting') return;
      if (wanted === 'announced') log.notice('Announcing %s (table %d): %s', prefixText, route.table, reason);
      else log.warning('Withdrew %s (table %d): %s', prefixText, route.table, reason);
      this.options.changed?.(wanted, reason);
    });
  }
}
