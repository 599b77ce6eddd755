import * as path from 'node:path';

/*
 * The file-tree interface `hpclab sync` copies between: a folder on this machine (local-tree.ts)
 * or on the cluster over SFTP (sftp-tree.ts). Paths handed to a tree are relative to its root,
 * '/'-separated, and checked by `confine` before they touch anything, so nothing a listing or a
 * plan holds can reach outside the root.
 */

export type EntryType = 'file' | 'dir' | 'symlink' | 'other';

export interface TreeEntry {
  type: EntryType;
  size: number;
  /** Whole seconds: SFTP (version 3) carries no finer times, so both sides compare at this grain. */
  mtimeSec: number;
  /** Permission bits only (0o777 and the sticky/setuid bits are not kept). */
  mode: number;
  /** A symlink's target, verbatim. */
  target?: string;
}

/** Everything below a root, keyed by relative path ('' is the root and is not listed). */
export type Listing = Map<string, TreeEntry>;

/** A file open for reading: `read` fills `length` bytes from `position` (fewer at the end). */
export interface ReadHandle {
  read(position: number, length: number): Promise<Buffer>;
  close(): Promise<void>;
}

/** A file open for writing (created or truncated). */
export interface WriteHandle {
  write(data: Buffer, position: number): Promise<void>;
  /** Sets the modification time (so the next run sees the copy as unchanged), then closes. */
  finish(mtimeSec: number): Promise<void>;
  /** Closes without finishing, after a failure; never throws. */
  abandon(): Promise<void>;
}

export interface FileTree {
  /** Where it is, for messages: `~/projects/a` or `testbed:/scratch/me/projects/a`. */
  readonly label: string;
  /** Whether the root exists and is a directory (false when it does not exist). */
  rootExists(): Promise<boolean>;
  /** Creates the root and its missing parents. */
  makeRoot(): Promise<void>;
  /** Every entry below the root; symlinks are listed as links, never followed. */
  list(): Promise<Listing>;
  openRead(rel: string): Promise<ReadHandle>;
  openWrite(rel: string, mode: number): Promise<WriteHandle>;
  mkdir(rel: string, mode: number): Promise<void>;
  symlink(rel: string, target: string): Promise<void>;
  /** Removes a file, a symlink (not what it points to) or an empty directory. */
  remove(rel: string, type: EntryType): Promise<void>;
}

/**
 * A relative path checked and turned into parts: no '', '.', '..', absolute or NUL parts. A
 * listing only yields names a directory holds, so this failing means a bug or a hostile server,
 * and nothing is touched.
 */
export function confine(rel: string): string[] {
  const parts = rel.split('/');
  if (rel === '' || parts.some(p => p === '' || p === '.' || p === '..' || p.includes('\0')))
    throw new Error(`refusing the path ${JSON.stringify(rel)}: it is not a plain path below the synced folder`);
  return parts;
}

/** Whether a symlink at `rel` pointing at `target` stays inside the tree (lexically: nothing is followed). */
export function linkStaysInside(rel: string, target: string): boolean {
  if (target === '' || target.startsWith('/') || /^[A-Za-z]:[\\/]/.test(target) || target.includes('\\')) return false;
  const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(rel), target));
  return resolved !== '..' && !resolved.startsWith('../');
}

/** Type bits of a POSIX mode (what stat and SFTP attributes carry). */
export function typeOfMode(mode: number): EntryType {
  switch (mode & 0o170000) {
    case 0o100000:
      return 'file';
    case 0o040000:
      return 'dir';
    case 0o120000:
      return 'symlink';
    default:
      return 'other';
  }
}
