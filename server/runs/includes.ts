import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { RunInputError } from './run-script';
import { RUN_MANIFEST_FILE, TASK_RUNNER_FILE } from './task-runner';

/*
 * `hpclab submit FILE --include PATH …`: what else a run needs beside its file (a data file, a
 * package folder), staged into the run directory at the same place relative to the current
 * directory (`--include data/x.csv` → <run dir>/data/x.csv), so relative paths in the script
 * keep working. Only what is named, never the tree around it; limits keep a mistaken `.` from
 * copying a home directory.
 */

export interface IncludedFile {
  /** Relative, with `/`: where it lands in the run directory. */
  path: string;
  data: Buffer;
  /** 0o700 for a file the owner may execute, else 0o600. */
  mode: number;
}

export const INCLUDE_MAX_FILES = 10_000;
export const INCLUDE_MAX_BYTES = 2 * 1024 ** 3;

/** Names a run directory holds of its own; an include may not replace them. */
const RESERVED = new Set(['out', RUN_MANIFEST_FILE, TASK_RUNNER_FILE]);
const CONTROL = /[\x00-\x1f\x7f]/;

/**
 * Reads every file the `--include` paths name (folders recursively, symbolic links refused),
 * relative to `cwd`; refuses a path outside `cwd`, one that would land on FILE itself or on the
 * run directory's own names, and more than the limits, each with the flag and the fix.
 */
export async function collectIncludes(
  cwd: string,
  paths: readonly string[],
  fileName: string
): Promise<IncludedFile[]> {
  const found = new Map<string, IncludedFile>();
  let bytes = 0;
  const refuse = (i: number, why: string) =>
    new RunInputError(`--include ${JSON.stringify(paths[i])}: ${why}`, `include[${i}]`);
  const add = async (i: number, absolute: string): Promise<void> => {
    const relative = path.relative(cwd, absolute).split(path.sep).join('/');
    if (CONTROL.test(relative))
      throw refuse(i, `cannot stage ${JSON.stringify(relative)}: control characters in a name`);
    const info = await fs.lstat(absolute);
    if (info.isSymbolicLink())
      throw refuse(i, `${relative} is a symbolic link: include what it points to, inside this directory`);
    if (info.isDirectory()) {
      for (const entry of (await fs.readdir(absolute)).sort()) await add(i, path.join(absolute, entry));
      return;
    }
    if (!info.isFile()) throw refuse(i, `${relative} is not a regular file`);
    if (found.size >= INCLUDE_MAX_FILES)
      throw refuse(i, `more than ${INCLUDE_MAX_FILES} files: include the folders the run needs, not a whole tree`);
    bytes += info.size;
    if (bytes > INCLUDE_MAX_BYTES)
      throw refuse(
        i,
        `more than ${INCLUDE_MAX_BYTES / 1024 ** 3} GiB in all: put large data on the cluster once and read it there`
      );
    found.set(relative, { path: relative, data: await fs.readFile(absolute), mode: info.mode & 0o100 ? 0o700 : 0o600 });
  };
  for (const [i, given] of paths.entries()) {
    const absolute = path.resolve(cwd, given);
    const relative = path.relative(cwd, absolute);
    if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative))
      throw refuse(
        i,
        `only paths inside the current directory can be staged (they keep their place in the run directory)`
      );
    const top = relative.split(path.sep)[0];
    if (RESERVED.has(top) || relative === fileName)
      throw refuse(i, `${top} is the run directory's own (${[...RESERVED].join(', ')}, and FILE itself)`);
    try {
      await add(i, absolute);
    } catch (err) {
      if (err instanceof RunInputError) throw err;
      throw refuse(i, `cannot read it: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  return [...found.values()];
}

/** The folders the included files need, parents first, relative to the run directory. */
export function includeDirs(files: readonly IncludedFile[]): string[] {
  const dirs = new Set<string>();
  for (const f of files) {
    const parts = f.path.split('/').slice(0, -1);
    for (let i = 1; i <= parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  return [...dirs].sort();
}
