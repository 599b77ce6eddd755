import { IdlePolicy } from '../sessions/idle-policy';
import { IdleWatch } from './idle-watch';

export interface KernelIdleOptions {
  /** The profile's limit (`profileIdleMinutes`); 0 never releases and watches nothing. */
  idleMinutes: number;
  /** Default min(5, idleMinutes / 2). */
  warnMinutes?: number;
  /** Milliseconds per idle minute: the session manager's `idleMinuteMs` (60 000 unless a test shortens it). */
  minuteMs: number;
  now?: () => number;
  /** Idle long enough: the release comes in `minutesLeft` minutes, at `releaseAt` (ms), unless the kernel is used. */
  warn(minutesLeft: number, message: string, releaseAt: number): void;
  /** Warned, and still idle at the deadline. Called once. */
  release(message: string): void;
  /** A check that is due or a note for the log (an unreadable iopub connection, activity after a warning). */
  note?(message: string): void;
}

/**
 * One remote kernel's idle release: its iopub bytes go through `iopubStream()` (one per channel
 * connection), a timer asks the policy at each due moment, and `warn`/`release` say what to do.
 * Busy kernels are never released; a kernel whose iopub cannot be read is never taken for idle.
 */
export class KernelIdle {
  private readonly watch: IdleWatch;
  private readonly policy: IdlePolicy;
  private readonly minuteMs: number;
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(private readonly options: KernelIdleOptions) {
    const { idleMinutes } = options;
    this.minuteMs = options.minuteMs;
    this.watch = new IdleWatch({
      now: options.now,
      unreadable: () =>
        options.note?.('an iopub connection is not ZMTP 3; the kernel is not released while it is unread')
    });
    this.policy = new IdlePolicy({
      idleMinutes,
      warnMinutes: options.warnMinutes,
      minuteMs: this.minuteMs,
      now: options.now,
      warn: (minutesLeft, releaseAt) =>
        options.warn(
          minutesLeft,
          `the kernel has been idle for a while: its allocation is released in ${minutesLeft} min unless it runs something (profile idleMinutes: ${idleMinutes})`,
          releaseAt
        ),
      release: () => options.release(`released after ${idleMinutes} idle minutes`),
      active: () => options.note?.('the kernel is in use again; the idle release is off')
    });
  }

  /** A feed for one new iopub connection's bytes, kernel to Jupyter; the bytes are only read. */
  iopubStream(): (chunk: Buffer) => void {
    return this.watch.stream();
  }

  /** Starts the checks (again after `stop`); does nothing when the profile never releases. */
  start(): void {
    if (this.running || this.options.idleMinutes <= 0 || this.policy.released) return;
    this.running = true;
    this.tick();
  }

  stop(): void {
    this.running = false;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** When the kernel last did something, undefined while busy (for `sessions show` and tests). */
  idleSince(): number | undefined {
    return this.watch.idleSince();
  }

  private tick(): void {
    if (!this.running) return;
    const due = this.policy.check(this.watch.idleSince());
    if (this.policy.released) return this.stop();
    // Look again when something falls due, and at least every minute: activity moves the deadline.
    this.timer = setTimeout(() => this.tick(), Math.min(due ?? this.minuteMs, this.minuteMs));
    this.timer.unref();
  }
}
