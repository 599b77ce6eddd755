import { promises as fs } from 'node:fs';

/*
 * companion.log collects the output of every background companion (each appends), and a
 * companion logs for as long as kernels need it: without a bound the file only grows. It is
 * rotated when the next background companion starts, the one moment nobody writes it.
 */

/** A log over this size is rotated before the next companion appends to it. */
export const ROTATE_OVER_BYTES = 1024 * 1024;
/** Rotated logs kept beside it: `<file>.1` (the newest) to `<file>.3`. */
export const ROTATED_KEPT = 3;

/**
 * If `file` is over `overBytes`: `<file>.2` becomes `.3` (the oldest `.3` is dropped), `.1`
 * becomes `.2`, and `file` becomes `.1`, so the caller opens a fresh `file`. Files stay 0600.
 * Returns whether it rotated; a missing file is nothing to rotate.
 */
export async function rotateLog(
  file: string,
  { overBytes = ROTATE_OVER_BYTES, keep = ROTATED_KEPT } = {}
): Promise<boolean> {
  const size = await fs.stat(file).then(
    stats => stats.size,
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return 0;
      throw err;
    }
  );
  if (size <= overBytes) return false;
  for (let n = keep - 1; n >= 1; n--) await renameIfExists(`${file}.${n}`, `${file}.${n + 1}`);
  await fs.rename(file, `${file}.1`);
  await fs.chmod(`${file}.1`, 0o600);
  return true;
}

async function renameIfExists(from: string, to: string): Promise<void> {
  try {
    await fs.rename(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; // a gap in the series is fine
  }
}
