/**
 * The announcer's hold-down (sans-I/O, the clock is the caller's): after a withdrawal for
 * ill-health, the route comes back only once the data plane has been healthy continuously for
 * the hold-down, so an engine that stalls again and again does not make the route flap.
 *
 * - The first withdrawal for ill-health holds the route down for `initialMs` (2 s).
 * - A withdrawal that comes less than `windowMs` (60 s) after the route came back is a flap: the
 *   hold-down doubles, up to `maxMs` (60 s).
 * - Every full `windowMs` the route stays announced halves it, down to `initialMs`; a withdrawal
 *   after such a stable spell is no flap and starts from the halved value.
 *
 * Only withdrawals for ill-health count: a drain, maintenance (`miredo-ctl withdraw`) or the start
 * of the relay engage nothing, and the first announcement waits only for the first healthy report.
 */

export interface HoldDownOptions {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly windowMs: number;
}

export const DEFAULT_HOLD_DOWN: HoldDownOptions = { initialMs: 2000, maxMs: 60_000, windowMs: 60_000 };

export class HoldDown {
  /** The hold-down the last withdrawal set; null before any withdrawal for ill-health. */
  private levelMs: number | null = null;
  /** When the route last came back (or first went up); null while it is withdrawn. */
  private announcedAt: number | null = null;
  /** A withdrawal for ill-health waits for its hold-down. */
  private pending = false;

  constructor(private readonly options: HoldDownOptions = DEFAULT_HOLD_DOWN) {}

  /** The route was announced at `now`. */
  announced(now: number): void {
    this.announcedAt = now;
    this.pending = false;
  }

  /** The route was withdrawn for ill-health at `now`: returns the hold-down it now waits for. */
  withdrawn(now: number): number {
    const { initialMs, maxMs, windowMs } = this.options;
    const level = this.currentMs(now);
    const stableMs = this.announcedAt === null ? 0 : now - this.announcedAt;
    const flap = this.levelMs !== null && stableMs < windowMs;
    this.levelMs = flap ? Math.min(maxMs, level * 2) : Math.max(initialMs, level);
    this.announcedAt = null;
    this.pending = true;
    return this.levelMs;
  }

  /** A withdrawal for ill-health still waits for its hold-down. */
  get held(): boolean {
    return this.pending;
  }

  /**
   * How much longer the route stays down, the data plane healthy since `healthySince` (null: not
   * healthy now, so the whole hold-down is ahead); 0 when it may be announced.
   */
  remainingMs(now: number, healthySince: number | null): number {
    if (!this.pending || this.levelMs === null) return 0;
    if (healthySince === null) return this.levelMs;
    return Math.max(0, this.levelMs - (now - healthySince));
  }

  /** The hold-down in force at `now` (halved for each full window announced); 0 before any. */
  currentMs(now: number): number {
    if (this.levelMs === null) return 0;
    if (this.announcedAt === null) return this.levelMs;
    const { initialMs, windowMs } = this.options;
    const halvings = Math.floor(Math.max(0, now - this.announcedAt) / windowMs);
    return halvings >= 32 ? initialMs : Math.max(initialMs, this.levelMs / 2 ** halvings);
  }
}
