/**
 * Walltime warnings for one session: at each threshold before the job's end, once. Thresholds
 * already passed when the session starts collapse into one warning now, so a short job still
 * gets its warning.
 */
export class WalltimeWarnings {
  private timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly thresholdsMinutes: readonly number[],
    private readonly warn: (minutesLeft: number) => void,
    private readonly now: () => number = Date.now
  ) {}

  schedule(endsAt: Date): void {
    this.cancel();
    const end = endsAt.getTime();
    const left = end - this.now();
    if (left <= 0) return;
    const sorted = [...this.thresholdsMinutes].sort((a, b) => b - a);
    const passed = sorted.filter(t => t * 60_000 >= left);
    if (passed.length > 0) this.warn(Math.max(0, Math.round(left / 60_000)));
    for (const t of sorted.filter(t => t * 60_000 < left)) {
      const timer = setTimeout(() => this.warn(t), left - t * 60_000);
      timer.unref();
      this.timers.push(timer);
    }
  }

  cancel(): void {
    this.timers.forEach(clearTimeout);
    this.timers = [];
  }
}
