import { depth, planSync, type SyncPlan } from './plan';
import { eachLimited } from './pool';
import type { FileTree } from './tree';

/** Files in flight at once: enough to hide the round trips of many small files. */
export const DEFAULT_PARALLEL = 32;
/** Bytes of one file read (then written) at a time, so a large file never sits whole in memory. */
const WINDOW_BYTES = 1024 * 1024;

export interface SyncProgress {
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
}

export interface SyncOptions {
  /** Remove what the source lacks (only below the destination root). */
  delete: boolean;
  /** Work out and report the plan; change nothing. */
  dryRun: boolean;
  parallel?: number;
  onProgress?: (progress: SyncProgress) => void;
}

export interface SyncReport {
  source: string;
  dest: string;
  dryRun: boolean;
  /** Files copied (or that would be, in a dry run). */
  copied: number;
  unchanged: number;
  deleted: number;
  dirsMade: number;
  linksMade: number;
  bytes: number;
  seconds: number;
  skipped: SyncPlan['skipped'];
  /** What could not be done, each with the reason; the rest went ahead. */
  failed: { rel: string; error: string }[];
}

/** Something the caller must fix before anything is copied: it names the folder and the fix. */
export class SyncInputError extends Error {
  name = 'SyncInputError';
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Runs `work` for each entry, one depth at a time (`items` come sorted by depth), many at once within one. */
async function byLevel<T extends { rel: string }>(
  items: T[],
  parallel: number,
  work: (item: T) => Promise<void>
): Promise<{ item: T; error: unknown }[]> {
  const failures: { item: T; error: unknown }[] = [];
  for (let i = 0; i < items.length;) {
    const level = depth(items[i].rel);
    let j = i;
    while (j < items.length && depth(items[j].rel) === level) j++;
    failures.push(...(await eachLimited(items.slice(i, j), parallel, work)));
    i = j;
  }
  return failures;
}

async function copyFile(
  source: FileTree,
  dest: FileTree,
  file: SyncPlan['copies'][number],
  progressed: (bytes: number) => void
): Promise<void> {
  const reader = await source.openRead(file.rel);
  let closing: Promise<void> | undefined;
  try {
    const writer = await dest.openWrite(file.rel, file.mode);
    try {
      for (let position = 0; position < file.size;) {
        const data = await reader.read(position, Math.min(WINDOW_BYTES, file.size - position));
        // The file shrank since the listing: its time differs now too, so the next run copies it again.
        if (data.length === 0) break;
        if (position + data.length >= file.size) closing = reader.close();
        await writer.write(data, position);
        position += data.length;
        progressed(data.length);
      }
      await writer.finish(file.mtimeSec);
    } catch (err) {
      await writer.abandon();
      throw err;
    }
  } finally {
    await (closing ?? reader.close());
  }
}

/**
 * Makes `dest` hold what `source` holds: lists both (in parallel), plans (plan.ts), then removes,
 * makes directories level by level, and copies files and links with `parallel` in flight. A
 * failure of one entry is reported with its path and the rest goes on; nothing outside the
 * destination root is touched, because every path comes from a listing and is confined again by
 * the tree.
 */
export async function syncTrees(source: FileTree, dest: FileTree, options: SyncOptions): Promise<SyncReport> {
  const started = Date.now();
  const parallel = options.parallel ?? DEFAULT_PARALLEL;
  if (!(await source.rootExists()))
    throw new SyncInputError(`${source.label} does not exist or is not a folder: nothing to copy from`);
  const destExists = await dest.rootExists();
  const [sourceListing, destListing] = await Promise.all([
    source.list(),
    destExists ? dest.list() : Promise.resolve(new Map())
  ]);
  const plan = planSync(sourceListing, destListing, { delete: options.delete, destLabel: dest.label });
  const bytesTotal = plan.copies.reduce((sum, c) => sum + c.size, 0);
  const report: SyncReport = {
    source: source.label,
    dest: dest.label,
    dryRun: options.dryRun,
    copied: plan.copies.length,
    unchanged: plan.unchanged,
    deleted: plan.removes.length,
    dirsMade: plan.mkdirs.length,
    linksMade: plan.links.length,
    bytes: bytesTotal,
    seconds: 0,
    skipped: plan.skipped,
    failed: []
  };
  if (options.dryRun) {
    report.seconds = (Date.now() - started) / 1000;
    return report;
  }
  if (!destExists) await dest.makeRoot();

  const progress: SyncProgress = { filesDone: 0, filesTotal: plan.copies.length, bytesDone: 0, bytesTotal };
  const tell = () => options.onProgress?.({ ...progress });
  const fail = (rel: string, error: unknown, counted: 'copied' | 'deleted' | 'dirsMade' | 'linksMade') => {
    report.failed.push({ rel, error: describe(error) });
    report[counted]--;
  };

  for (const f of await byLevel(plan.removes, parallel, r => dest.remove(r.rel, r.type)))
    fail(f.item.rel, f.error, 'deleted');
  // A directory that could not be made takes its contents with it: they fail on their own below.
  for (const f of await byLevel(plan.mkdirs, parallel, d => dest.mkdir(d.rel, d.mode)))
    fail(f.item.rel, f.error, 'dirsMade');
  tell();
  const copies = await eachLimited(plan.copies, parallel, async file => {
    let sent = 0;
    try {
      await copyFile(source, dest, file, n => {
        sent += n;
        progress.bytesDone += n;
      });
    } catch (err) {
      progress.bytesDone -= sent;
      throw err;
    }
    progress.filesDone++;
    tell();
  });
  for (const f of copies) {
    fail(f.item.rel, f.error, 'copied');
    report.bytes -= f.item.size;
  }
  for (const f of await eachLimited(plan.links, parallel, l => dest.symlink(l.rel, l.target)))
    fail(f.item.rel, f.error, 'linksMade');
  report.seconds = (Date.now() - started) / 1000;
  return report;
}
