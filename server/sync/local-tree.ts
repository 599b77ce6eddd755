import { constants, promises as fs, type Stats } from 'node:fs';
import * as path from 'node:path';
import { Limiter } from '../limiter';
import { confine, type FileTree, type Listing, type ReadHandle, type TreeEntry, type WriteHandle } from './tree';

/** How many directories are read at once while listing. */
const LIST_PARALLEL = 16;

// O_NOFOLLOW: a symlink that appeared at a file's place since the listing is refused, not written through.
const WRITE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | (constants.O_NOFOLLOW ?? 0);

function entryOf(st: Stats, target?: string): TreeEntry {
  const type = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other';
  return {
    type,
    size: type === 'file' ? st.size : 0,
    mtimeSec: Math.floor(st.mtimeMs / 1000),
    mode: st.mode & 0o777,
    ...(target !== undefined ? { target } : {})
  };
}

/** A folder on this machine (the laptop's side, or the cluster's own disk for a local cluster). */
export class LocalTree implements FileTree {
  readonly label: string;

  /** `root` is absolute; `label` says it in messages (default: the root). */
  constructor(
    readonly root: string,
    label?: string
  ) {
    this.label = label ?? root;
  }

  private full(rel: string): string {
    return path.join(this.root, ...confine(rel));
  }

  async rootExists(): Promise<boolean> {
    try {
      return (await fs.stat(this.root)).isDirectory();
    } catch (err) {
      // Missing is an answer (pull creates it); anything else (permissions) is the caller's to see.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }

  async makeRoot(): Promise<void> {
    await fs.mkdir(this.root, { recursive: true, mode: 0o700 });
  }

  async list(): Promise<Listing> {
    const listing: Listing = new Map();
    const limiter = new Limiter(LIST_PARALLEL);
    const walk = async (rel: string): Promise<void> => {
      const dir = rel ? this.full(rel) : this.root;
      const names = await limiter.run(() => fs.readdir(dir));
      const subdirs: string[] = [];
      await Promise.all(
        names.map(async name => {
          const child = rel ? `${rel}/${name}` : name;
          const st = await fs.lstat(path.join(dir, name));
          const entry = entryOf(st, st.isSymbolicLink() ? await fs.readlink(path.join(dir, name)) : undefined);
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
    const handle = await fs.open(this.full(rel), constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
    return {
      read: async (position, length) => {
        const buffer = Buffer.alloc(length);
        let filled = 0;
        while (filled < length) {
          const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled);
          if (bytesRead === 0) break;
          filled += bytesRead;
        }
        return buffer.subarray(0, filled);
      },
      close: () => handle.close()
    };
  }

  async openWrite(rel: string, mode: number): Promise<WriteHandle> {
    const file = this.full(rel);
    const handle = await fs.open(file, WRITE_FLAGS, mode);
    return {
      write: async (data, position) => {
        let written = 0;
        while (written < data.length) {
          const { bytesWritten } = await handle.write(data, written, data.length - written, position + written);
          written += bytesWritten;
        }
      },
      finish: async mtimeSec => {
        try {
          await handle.utimes(mtimeSec, mtimeSec);
        } finally {
          await handle.close();
        }
      },
      abandon: () =>
        // The copy already failed with its own error; a failing close adds nothing to it.
        handle.close().catch(() => undefined)
    };
  }

  async mkdir(rel: string, mode: number): Promise<void> {
    await fs.mkdir(this.full(rel), { mode: mode | 0o700 });
  }

  async symlink(rel: string, target: string): Promise<void> {
    await fs.symlink(target, this.full(rel));
  }

  async remove(rel: string, type: TreeEntry['type']): Promise<void> {
    if (type === 'dir') await fs.rmdir(this.full(rel));
    else await fs.unlink(this.full(rel));
  }
}
