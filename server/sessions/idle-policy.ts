import type { ProfileConfig } from '../config/schema';
import { requestsGpu } from './job-script';

/**
 * When an idle kernel or Lab gives its node back. Idle GPUs would otherwise stay held until
 * walltime; a profile's `idleMinutes` (0: never) says how long idleness is allowed, and the
 * user is warned `warnMinutes` before the release so an open notebook can be used again in time.
 *
 * Pure logic: the caller says when the thing last did something (or that it is busy) at each
 * `check`, and the clock is injected, so the kernel side (iopub, kernels/idle-watch.ts) and the
 * Lab side (its server's /api/status, lab-idle.ts) share it and tests need no timers.
 */

/** Profiles that ask for GPUs release them after an hour of idleness unless they say otherwise. */
export const DEFAULT_GPU_IDLE_MINUTES = 60;

/**
 * Test-only: how many milliseconds a "minute" of idleness lasts (`HPCLAB_IDLE_MINUTE_MS`), so an
 * end-to-end test sees a warning and a release in seconds. Unset, empty or not a positive
 * integer: 60 000. This is the one place the variable is read.
 */
export const IDLE_MINUTE_ENV = 'HPCLAB_IDLE_MINUTE_MS';

export function idleMinuteMs(env: NodeJS.ProcessEnv = process.env): number {
  const value = Number(env[IDLE_MINUTE_ENV] ?? '');
  return Number.isSafeInteger(value) && value > 0 ? value : 60_000;
}

/** A profile's idle limit in minutes: its own `idleMinutes`, else 60 when it requests GPUs, else 0 (never). */
export function profileIdleMinutes(profile: Pick<ProfileConfig, 'idleMinutes' | 'gres'>): number {
  return profile.idleMinutes ?? (requestsGpu(profile.gres) ? DEFAULT_GPU_IDLE_MINUTES : 0);
}

export interface IdlePolicyOptions {
  /** Minutes of idleness before the release; 0 never releases. */
  idleMinutes: number;
  /** How long before the release to warn; default min(5, idleMinutes / 2). */
  warnMinutes?: number;
  /** Milliseconds per minute (tests shorten it; see idleMinuteMs). Default 60 000. */
  minuteMs?: number;
  now?: () => number;
  /** Idle long enough: the release comes in `minutesLeft` minutes, at `releaseAt` (ms), unless it is used. */
  warn(minutesLeft: number, releaseAt: number): void;
  /** Warned, and still idle at the deadline. Called once. */
  release(): void;
  /** Used again after a warning: the warning no longer holds. */
  active?(): void;
}

/**
 * One kernel's or Lab's idle clock. Busy is never released; idleness is counted from the last
 * activity; the warning always comes first, and the release no sooner than `warnMinutes` after
 * it (so a companion that starts watching something idle for hours still warns before acting);
 * activity after the warning cancels it, and a later idle spell is warned about again.
 */
export class IdlePolicy {
  private readonly minuteMs: number;
  private readonly idleMs: number;
  private readonly warnMs: number;
  private readonly now: () => number;
  /** The idle spell that was warned about (its start), and when the release is due. */
  private warned: { idleSince: number; releaseAt: number } | undefined;
  private done = false;

  constructor(private readonly options: IdlePolicyOptions) {
    this.minuteMs = options.minuteMs ?? 60_000;
    this.now = options.now ?? Date.now;
    const idleMinutes = Math.max(0, options.idleMinutes);
    this.idleMs = idleMinutes * this.minuteMs;
    const warnMinutes = Math.min(options.warnMinutes ?? Math.min(5, idleMinutes / 2), idleMinutes);
    this.warnMs = Math.max(0, warnMinutes) * this.minuteMs;
  }

  /** Whether the release was called. */
  get released(): boolean {
    return this.done;
  }

  /**
   * Looks at the activity now: `idleSince` is when it last did something, undefined while busy.
   * Returns the milliseconds until the next look matters (a warning or the release falls due),
   * or undefined when nothing is due by itself (busy, released, or never releasing).
   */
  check(idleSince: number | undefined): number | undefined {
    if (this.done || this.idleMs <= 0) return undefined;
    const now = this.now();
    if (idleSince === undefined || (this.warned && idleSince !== this.warned.idleSince)) {
      // Busy, or active again since the warning: that warning no longer holds.
      if (this.warned) {
        this.warned = undefined;
        this.options.active?.();
      }
      if (idleSince === undefined) return undefined;
    }
    if (!this.warned) {
      const warnAt = idleSince + this.idleMs - this.warnMs;
      if (now < warnAt) return warnAt - now;
      const releaseAt = Math.max(idleSince + this.idleMs, now + this.warnMs);
      this.warned = { idleSince, releaseAt };
      this.options.warn(Math.ceil((releaseAt - now) / this.minuteMs), releaseAt);
      if (releaseAt > now) return releaseAt - now;
    }
    if (now < this.warned.releaseAt) return this.warned.releaseAt - now;
    this.done = true;
    this.options.release();
    return undefined;
  }
}
