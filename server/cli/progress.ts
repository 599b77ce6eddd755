/**
 * A spinner with a message on stderr while something slow runs, so a wait in the Slurm queue
 * or a slow login node never looks like a hang. Off when stderr is not a terminal (CI, pipes),
 * where each new message is printed once instead.
 */
export class Progress {
  private timer: NodeJS.Timeout | undefined;
  private frame = 0;
  private message = '';
  private readonly frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly enabled = Boolean(process.stderr.isTTY) && !process.env.CI
  ) {}

  /** Starts (or updates) the spinner line; appears only if the work takes over 300 ms. */
  update(message: string): void {
    if (message === this.message) return;
    this.message = message;
    if (!this.enabled) return;
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = setInterval(() => this.draw(), 80);
        this.draw();
      }, 300);
    }
  }

  private draw(): void {
    this.frame = (this.frame + 1) % this.frames.length;
    this.stream.write(`\r\x1b[2K${this.frames[this.frame]} ${this.message}`);
  }

  stop(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      clearInterval(this.timer);
      this.timer = undefined;
      if (this.enabled) this.stream.write('\r\x1b[2K');
    }
    this.message = '';
  }

  /** Runs `work` with the spinner showing `message`. */
  async during<T>(message: string, work: () => Promise<T>): Promise<T> {
    this.update(message);
    try {
      return await work();
    } finally {
      this.stop();
    }
  }
}
