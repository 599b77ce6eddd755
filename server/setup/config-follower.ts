import { promises as fs, unwatchFile, watchFile, type Stats } from 'node:fs';
import { parseConfig } from '../config/load';
import type { HpclabConfig } from '../config/schema';
import { stderrLogger } from '../log';
import { replaceConfig } from './config-file';

/*
 * A companion runs for hours (five minutes past its last kernel in the background), while the
 * config file changes under it: `hpclab init` in a terminal, an editor, a second Lab's "Add a
 * cluster". A kernel launcher that shares the file must find the profile the file names, so the
 * companion applies the file again whenever it changed. A broken file never replaces a working
 * config: the companion keeps what it has and says why, once per change.
 */

export interface ConfigFollowerOptions {
  file: string;
  /** The companion's one config object, replaced in place (see replaceConfig). */
  config: HpclabConfig;
  /** Where a file that does not load is reported (the companion: its log's warnings); default stderr. */
  report?: (message: string) => void;
}

export class ConfigFollower {
  private seen: string | undefined;
  private pending: Promise<void> | undefined;
  private readonly onChange = () => void this.refresh();
  private watching = false;

  constructor(private readonly options: ConfigFollowerOptions) {}

  /** Remembers the file as it is now, as the config the companion was started with. */
  async start(): Promise<void> {
    this.seen = stamp(await statIfExists(this.options.file));
  }

  /** Applies the file if it changed since last seen; concurrent callers share one read. */
  refresh(): Promise<void> {
    this.pending ??= this.check().finally(() => (this.pending = undefined));
    return this.pending;
  }

  /** Also applies changes nobody asked for yet, so event streams and lists follow the file. */
  watch(intervalMs = 1000): void {
    if (this.watching) return;
    this.watching = true;
    // Polling, not fs.watch: an editor's rename-over or a network home defeats inotify.
    watchFile(this.options.file, { interval: intervalMs, persistent: false }, this.onChange);
  }

  close(): void {
    if (!this.watching) return;
    this.watching = false;
    unwatchFile(this.options.file, this.onChange);
  }

  private async check(): Promise<void> {
    const { file, config } = this.options;
    const report = this.options.report ?? (message => stderrLogger('config').warn(message));
    let stats: Stats | undefined;
    let text: string | undefined;
    try {
      stats = await statIfExists(file);
      const now = stamp(stats);
      if (now === this.seen) return;
      this.seen = now;
      // A file that went away keeps the config in use: sessions and kernels still need it.
      if (!stats) return report(`config file ${file} was removed; keeping the config in use until it is back`);
      text = await fs.readFile(file, 'utf8');
    } catch (err) {
      return report(`cannot read config file ${file}; keeping the config in use: ${(err as Error).message}`);
    }
    try {
      replaceConfig(config, parseConfig(text, file));
    } catch (err) {
      report(
        `config file ${file} changed but does not load; keeping the config in use until it is fixed:\n${(err as Error).message}`
      );
    }
  }
}

async function statIfExists(file: string): Promise<Stats | undefined> {
  try {
    return await fs.stat(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** What tells one version of the file from the next: a rename gives a new inode, an edit a new mtime or size. */
function stamp(stats: Stats | undefined): string | undefined {
  return stats && `${stats.ino}:${stats.size}:${stats.mtimeMs}`;
}
