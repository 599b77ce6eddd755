import type { Attributes, FileEntry, SFTPWrapper, Stats } from 'ssh2';
import { Limiter } from '../limiter';
import {
  confine,
  typeOfMode,
  type FileTree,
  type Listing,
  type ReadHandle,
  type TreeEntry,
  type WriteHandle
} from './tree';

/** How many directories are read at once while listing. */
const LIST_PARALLEL = 32;
/** One read or write request: under OpenSSH's packet limit, so the server never splits it. */
const REQUEST_BYTES = 32 * 1024;
/** SFTP's "no such file" status. */
const NO_SUCH_FILE = 2;

type Callback<T> = (err: Error | null | undefined, value: T) => void;

/** One ssh2 callback call as a promise. */
function call<T = void>(start: (cb: Callback<T>) => void): Promise<T> {
  return new Promise((resolve, reject) => start((err, value) => (err ? reject(err) : resolve(value))));
}

const isMissing = (err: unknown) => (err as { code?: unknown }).code === NO_SUCH_FILE;

function entryOf(attrs: Attributes, target?: string): TreeEntry {
  const type = typeOfMode(attrs.mode);
  return {
    type,
    size: type === 'file' ? attrs.size : 0,
    mtimeSec: attrs.mtime,
    mode: attrs.mode & 0o777,
    ...(target !== undefined ? { target } : {})
  };
}

/**
 * A folder on the cluster, over SFTP on the cluster's pooled SSH connection. Requests are not
 * awaited one by one where the protocol allows more in flight (reads and writes of one file, a
 * write's times and close): the server answers them in order, so the round trips overlap.
 */
export class SftpTree implements FileTree {
  readonly label: string;

  /** `root` is absolute on the cluster (`~` already resolved); `cluster` names it in messages. */
  constructor(
    private readonly sftp: SFTPWrapper,
    readonly root: string,
    cluster: string
  ) {
    this.label = `${cluster}:${root}`;
  }

  private full(rel: string): string {
    return `${this.root.replace(/\/+$/, '')}/${confine(rel).join('/')}`;
  }

  async rootExists(): Promise<boolean> {
    try {
      return typeOfMode((await call<Stats>(cb => this.sftp.stat(this.root, cb))).mode) === 'dir';
    } catch (err) {
      // Missing is an answer (push creates it); anything else (permissions) is the caller's to see.
      if (isMissing(err)) return false;
      throw err;
    }
  }

  async makeRoot(): Promise<void> {
    const parts = this.root.split('/').filter(Boolean);
    for (let i = 1; i <= parts.length; i++) {
      const dir = `/${parts.slice(0, i).join('/')}`;
      try {
        await call<Stats>(cb => this.sftp.stat(dir, cb));
        continue;
      } catch (err) {
        if (!isMissing(err)) throw new Error(`cannot look at ${dir}: ${(err as Error).message}`, { cause: err });
      }
      await call(cb => this.sftp.mkdir(dir, { mode: 0o700 }, cb));
    }
  }

  async list(): Promise<Listing> {
    const listing: Listing = new Map();
    const limiter = new Limiter(LIST_PARALLEL);
    const walk = async (rel: string): Promise<void> => {
      const dir = rel ? this.full(rel) : this.root;
      const names = await limiter.run(() => call<FileEntry[]>(cb => this.sftp.readdir(dir, cb)));
      const subdirs: string[] = [];
      await Promise.all(
        names.map(async ({ filename, attrs }) => {
          const child = rel ? `${rel}/${filename}` : filename;
          // readdir's attributes are lstat's (OpenSSH): a link is seen as a link, never followed.
          const link = typeOfMode(attrs.mode) === 'symlink';
          const target = link ? await call<string>(cb => this.sftp.readlink(this.full(child), cb)) : undefined;
          const entry = entryOf(attrs, target);
          listing.set(child, entry);
          if (entry.type === 'dir') subdirs.push(child);
        })
      );
      await Promise.all(subdirs.map(walk));
    };
    await walk('');
    return listing;
  }

  async openRead(rel: string): Promise<ReadHandle> {
    const handle = await call<Buffer>(cb => this.sftp.open(this.full(rel), 'r', cb));
    return {
      read: async (position, length) => {
        const buffer = Buffer.alloc(length);
        const starts: number[] = [];
        for (let at = 0; at < length; at += REQUEST_BYTES) starts.push(at);
        const counts = await Promise.all(
          starts.map(at =>
            call<number>(cb =>
              this.sftp.read(handle, buffer, at, Math.min(REQUEST_BYTES, length - at), position + at, cb as never)
            )
          )
        );
        // A short piece is the end of the file: what follows it was not there.
        let filled = 0;
        for (let i = 0; i < counts.length; i++) {
          filled += counts[i];
          if (counts[i] < Math.min(REQUEST_BYTES, length - starts[i])) break;
        }
        return buffer.subarray(0, filled);
      },
      close: () => call(cb => this.sftp.close(handle, cb))
    };
  }

  async openWrite(rel: string, mode: number): Promise<WriteHandle> {
    const handle = await call<Buffer>(cb => this.sftp.open(this.full(rel), 'w', { mode }, cb));
    return {
      write: async (data, position) => {
        const pieces: Promise<void>[] = [];
        for (let at = 0; at < data.length; at += REQUEST_BYTES) {
          const len = Math.min(REQUEST_BYTES, data.length - at);
          pieces.push(call(cb => this.sftp.write(handle, data, at, len, position + at, cb as never)));
        }
        await Promise.all(pieces);
      },
      finish: async mtimeSec => {
        // Both requests leave now; the server sets the time, then closes.
        const [times, closed] = await Promise.allSettled([
          call(cb => this.sftp.futimes(handle, mtimeSec, mtimeSec, cb)),
          call(cb => this.sftp.close(handle, cb))
        ]);
        if (times.status === 'rejected') throw times.reason;
        if (closed.status === 'rejected') throw closed.reason;
      },
      abandon: () =>
        // The copy already failed with its own error; a failing close adds nothing to it.
        call(cb => this.sftp.close(handle, cb)).catch(() => undefined)
    };
  }

  async mkdir(rel: string, mode: number): Promise<void> {
    await call(cb => this.sftp.mkdir(this.full(rel), { mode: mode | 0o700 }, cb));
  }

  async symlink(rel: string, target: string): Promise<void> {
    // ssh2 swaps the arguments for OpenSSH's reversed order itself.
    await call(cb => this.sftp.symlink(target, this.full(rel), cb));
  }

  async remove(rel: string, type: TreeEntry['type']): Promise<void> {
    const file = this.full(rel);
    if (type === 'dir') await call(cb => this.sftp.rmdir(file, cb));
    else await call(cb => this.sftp.unlink(file, cb));
  }
}
