/**
 * A relay's announcement (AnnounceTable): its prefix route, on its own tunnel, in a routing table
 * that routes nothing, which a BGP daemon on the host learns and announces (BIRD's kernel
 * protocol with `kernel table N; learn;`); or in the main table with a metric of its own below the
 * forwarding route's (AnnounceMetric), which FRR 8.4 announces with `redistribute kernel` and a
 * route-map matching that metric (it learns IPv6 routes from no other table). The route is there
 * only while the data plane works: the engine is running, its health reports
 * (engine/health-monitor.ts) keep coming, and they name no stalled worker; and the relay is
 * neither draining nor in maintenance (`miredo-ctl withdraw`). After a withdrawal for ill-health
 * the route comes back only once the data plane has worked for the hold-down (hold-down.ts). The
 * forwarding route (metric 1024 in the main table) is never touched: packets that still arrive
 * while routers converge are forwarded as before.
 *
 * The bootstrap owns it (it holds CAP_NET_ADMIN; the engine cannot add routes, and a wedged
 * engine could not withdraw its own). If the bootstrap itself dies, the tunnel goes with it,
 * and the kernel removes every route through the tunnel, this one included.
 */
import type { HealthMessage } from '../ipc/bootstrap-engine-messages.js';
import type { Logger } from '../log/logger.js';
import type { TableRoute } from '../os/route-table.js';
import { errnoText } from './errno-text.js';
import { HoldDown } from './hold-down.js';
import type { HoldDownOptions } from './hold-down.js';
import type { OsApi } from './os-api.js';

/** No health report for this long: the engine is wedged (it reports every 250 ms). */
export const HEALTH_TIMEOUT_MS = 1000;
/** How often the timeout is checked. */
export const ANNOUNCER_TICK_MS = 100;

/** Milliseconds as seconds with at most one decimal, for the log and the status. */
export const secondsOf = (ms: number): number => Math.round(ms / 100) / 10;

export type AnnouncementState = 'announced' | 'withdrawn';

/** What `miredo-ctl status` shows besides the state and its reason. */
export interface AnnouncerFacts {
  readonly maintenance: boolean;
  /** The hold-down in force (hold-down.ts); 0 before any withdrawal for ill-health. */
  readonly holdDownMs: number;
}

export interface AnnouncerOptions {
  readonly route: TableRoute;
  /** For its description in the log: 2001::/32. */
  readonly prefixText: string;
  readonly os: Pick<OsApi, 'setTableRoute6'>;
  readonly log: Logger;
  /** Told each time the route is added or removed. */
  readonly changed?: (state: AnnouncementState, reason: string, facts: AnnouncerFacts) => void;
  readonly now?: () => number;
  readonly healthTimeoutMs?: number;
  readonly tickMs?: number;
  readonly holdDown?: HoldDownOptions;
  /** Starts in maintenance (withdrawn until maintenance(false)). */
  readonly maintenance?: boolean;
}

export class Announcer {
  private state: AnnouncementState = 'withdrawn';
  /** When the last report with every worker alive came; null: none since the engine (re)started. */
  private healthyAt: number | null = null;
  /** Since when every report named no stalled worker, with no silence; null: not healthy now. */
  private healthySince: number | null = null;
  private stalled: readonly number[] = [];
  private draining = false;
  private inMaintenance: boolean;
  private readonly holdDown: HoldDown;
  /**
   * The running engine knows the state (status, metrics): false until its first report, which
   * is answered with the state when it changes nothing (a new engine in maintenance, say).
   */
  private engineTold = false;
  private stopped = false;
  private applying: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;
  private readonly now: () => number;
  private readonly timeoutMs: number;

  constructor(private readonly options: AnnouncerOptions) {
    this.now = options.now ?? (() => performance.now());
    this.timeoutMs = options.healthTimeoutMs ?? HEALTH_TIMEOUT_MS;
    this.holdDown = new HoldDown(options.holdDown);
    this.inMaintenance = options.maintenance ?? false;
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

  get maintenance(): boolean {
    return this.inMaintenance;
  }

  /** The hold-down in force now, in ms (0 before any withdrawal for ill-health). */
  get holdDownMs(): number {
    return this.holdDown.currentMs(this.now());
  }

  health(message: HealthMessage): void {
    this.stalled = message.stalled;
    const now = this.now();
    // A silence no tick has seen yet breaks the health all the same.
    if (this.healthyAt !== null && now - this.healthyAt > this.timeoutMs) this.healthySince = null;
    if (message.stalled.length === 0) {
      this.healthyAt = now;
      if (this.healthySince === null) {
        this.healthySince = now;
        const blocked = this.draining || this.inMaintenance;
        if (this.holdDown.held && this.state === 'withdrawn' && !blocked) this.reportHold();
      }
    } else this.healthySince = null;
    const before = this.state;
    this.evaluate();
    if (!this.engineTold && this.state === before)
      this.report(
        this.state === 'announced' ? 'the data plane works' : (this.withdrawReason() ?? 'held down'),
      );
    this.engineTold = true;
  }

  /** The engine exited (or is being replaced): nothing forwards until the next one reports. */
  engineGone(): void {
    this.engineTold = false;
    this.healthyAt = null;
    this.healthySince = null;
    this.evaluate();
  }

  /** Maintenance (`miredo-ctl withdraw`) on or off: withdrawn while on, the relay still forwarding. */
  setMaintenance(on: boolean): void {
    if (on === this.inMaintenance) {
      this.evaluate();
      return;
    }
    this.inMaintenance = on;
    this.options.log.notice(
      on
        ? 'Maintenance: %s withdrawn until miredo-ctl announce'
        : 'Maintenance over: %s announced when healthy',
      this.options.prefixText,
    );
    const before = this.state;
    this.evaluate();
    // Still withdrawn (for another reason, or held down): the status learns of it all the same.
    if (this.state === 'withdrawn' && before === 'withdrawn')
      this.report(on ? 'maintenance' : (this.withdrawReason() ?? 'held down'));
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
    if (this.inMaintenance) return 'maintenance';
    if (this.healthyAt === null) return 'the engine is not running';
    if (this.stalled.length > 0) return `data-plane worker(s) ${this.stalled.join(', ')} stalled`;
    const silentMs = this.now() - this.healthyAt;
    if (silentMs > this.timeoutMs) {
      this.healthySince = null;
      return `no health report from the engine for ${Math.round(silentMs)} ms`;
    }
    return null;
  }

  private evaluate(): void {
    if (this.stopped) return;
    const reason = this.withdrawReason();
    const now = this.now();
    if (reason === null && this.holdDown.remainingMs(now, this.healthySince) > 0) return;
    const wanted: AnnouncementState = reason === null ? 'announced' : 'withdrawn';
    if (wanted === this.state) return;
    if (wanted === 'announced') {
      const held = this.holdDown.held;
      this.holdDown.announced(now);
      this.apply(wanted, held ? 'the data plane works (hold-down over)' : 'the data plane works');
      return;
    }
    if (reason !== 'draining' && reason !== 'maintenance') this.holdDown.withdrawn(now);
    this.apply(wanted, reason ?? '');
  }

  private facts(): AnnouncerFacts {
    return { maintenance: this.inMaintenance, holdDownMs: this.holdDownMs };
  }

  /** In the order of the kernel changes, with the facts of now. */
  private report(reason: string): void {
    const { state } = this;
    const facts = this.facts();
    this.applying = this.applying.then(() => this.options.changed?.(state, reason, facts));
  }

  /** Healthy again while held down: says when the route comes back. */
  private reportHold(): void {
    const seconds = secondsOf(this.holdDown.currentMs(this.now()));
    this.options.log.notice(
      { holdDownSeconds: seconds },
      'Holding %s down: announced after %s s of health',
      this.options.prefixText,
      seconds,
    );
    this.report(`held down: announced after ${seconds} s of health`);
  }

  private apply(wanted: AnnouncementState, reason: string): void {
    const { os, route, log, prefixText } = this.options;
    const previous = this.state;
    this.state = wanted;
    const facts = this.facts();
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
      const holdDown = { holdDownSeconds: secondsOf(facts.holdDownMs) };
      if (wanted === 'announced')
        log.notice(holdDown, 'Announcing %s (table %d): %s', prefixText, route.table, reason);
      else
        log.warning(
          holdDown,
          'Withdrew %s (table %d): %s; hold-down %s s',
          prefixText,
          route.table,
          reason,
          holdDown.holdDownSeconds,
        );
      this.options.changed?.(wanted, reason, facts);
    });
  }
}
