/**
 * What `miredo-ctl status` and the metrics tell about a client's qualification: when it started,
 * first qualified, got its current address, and last heard the server; and the histogram of the
 * server's answer times (Router Solicitation sent → Router Advertisement accepted).
 */
import type { HistogramSample } from '../ipc/prometheus.js';

/** Seconds: a server on the same LAN answers in a millisecond, across the Internet in 20-300. */
export const ANSWER_TIME_BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4] as const;

export class QualificationRecord {
  startedAtMs: number | null = null;
  /** Milliseconds from start to the first qualification. */
  firstQualificationMs: number | null = null;
  upSinceMs: number | null = null;
  lastAnswerMs: number | null = null;
  private lastSolicitationMs: number | null = null;
  private readonly counts = new Array<number>(ANSWER_TIME_BOUNDS.length + 1).fill(0);
  private sum = 0;

  started(nowMs: number): void {
    this.startedAtMs = nowMs;
  }

  solicited(nowMs: number): void {
    this.lastSolicitationMs = nowMs;
  }

  /** The server's advertisement was accepted. */
  answered(nowMs: number): void {
    this.lastAnswerMs = nowMs;
    if (this.lastSolicitationMs === null) return;
    const seconds = Math.max(0, nowMs - this.lastSolicitationMs) / 1000;
    this.lastSolicitationMs = null;
    const bucket = ANSWER_TIME_BOUNDS.findIndex((bound) => seconds <= bound);
    const index = bucket < 0 ? ANSWER_TIME_BOUNDS.length : bucket;
    this.counts[index] = (this.counts[index] ?? 0) + 1;
    this.sum += seconds;
  }

  up(nowMs: number): void {
    this.upSinceMs = nowMs;
    if (this.firstQualificationMs === null && this.startedAtMs !== null)
      this.firstQualificationMs = nowMs - this.startedAtMs;
  }

  down(): void {
    this.upSinceMs = null;
  }

  answerTimes(): HistogramSample {
    return { counts: [...this.counts], sum: this.sum };
  }
}
