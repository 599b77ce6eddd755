import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';

/**
 * One advertised companion per user. The lock is a 0600 file holding its owner's pid, put in
 * place whole (written to a private temp file, then hard-linked, which fails if the lock exists),
 * so nobody ever reads it half written and mistakes it for a stale one.
 *
 * A lock whose pid is gone (a companion killed with -9) is stale. Replacing it goes through a
 * second exclusive file, `<lock>.takeover`, and only while the lock still names the same dead
 * pid: when several starters find one stale lock at once (launchers reconnecting after a crash),
 * exactly one replaces it and the others then see a live owner.
 */
export interface LockOptions {
  /** The pid written into the lock (this process unless a test says otherwise). */
  pid?: number;
  /** Whether a pid still runs. */
  alive?: (pid: number) => boolean;
}

export class LockHeldError extends Error {
  constructor(readonly pid: number) {
    super(`another hpclab companion (pid ${pid}) already serves this user (stop it first, or use it)`);
  }
}

const ATTEMPTS = 200;
const WAIT_MS = 10;

/** Takes `lock` (its directory must exist and be private). Throws LockHeldError when a live companion holds it. */
export async function claimCompanionLock(lock: string, options: LockOptions = {}): Promise<void> {
  const pid = options.pid ?? process.pid;
  const alive = options.alive ?? processAlive;
  const takeover = `${lock}.takeover`;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    if (await placeWhole(lock, pid)) return;
    const owner = await readPid(lock);
    if (owner === undefined) continue; // released between our try and the read: try again
    if (owner !== pid && alive(owner)) throw new LockHeldError(owner);
    if (await placeWhole(takeover, pid)) {
      try {
        // Still the stale lock we judged? Then replace it in one step (rename over it).
        if ((await readPid(lock)) === owner) {
          await placeWhole(lock, pid, { replace: true });
          return;
        }
      } finally {
        await fs.rm(takeover, { force: true });
      }
      continue;
    }
    // Another starter is taking over. A takeover file whose writer died is cleared.
    const taker = await readPid(takeover);
    if (taker !== undefined && taker !== pid && !alive(taker)) await fs.rm(takeover, { force: true });
    await new Promise(resolve => setTimeout(resolve, WAIT_MS));
  }
  throw new Error(`cannot take ${lock}: other companions keep starting at the same time; try again`);
}

/** Releases `lock` if it is still ours (a takeover may have replaced it meanwhile); never throws, as it runs on close. */
export async function releaseCompanionLock(lock: string, pid = process.pid): Promise<void> {
  const owner = await readPid(lock).catch(() => undefined); // not a lock of ours (or unreadable): leave it as it is
  if (owner === pid) await fs.rm(lock, { force: true });
}

/** The live process that holds `lock`, if any: a companion that may still be starting. */
export async function lockHolder(
  lock: string,
  alive: (pid: number) => boolean = processAlive
): Promise<number | undefined> {
  const owner = await readPid(lock);
  return owner !== undefined && alive(owner) ? owner : undefined;
}

/** Writes `pid` to a private temp file and links it to `file` (or renames over it): never seen half written. */
async function placeWhole(file: string, pid: number, how: { replace?: boolean } = {}): Promise<boolean> {
  const temp = `${file}.${pid}.${randomBytes(6).toString('hex')}.tmp`;
  await fs.writeFile(temp, `${pid}\n`, { mode: 0o600, flag: 'wx' });
  try {
    if (how.replace) {
      await fs.rename(temp, file);
      return true;
    }
    await fs.link(temp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await fs.rm(temp, { force: true });
  }
}

async function readPid(file: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const pid = Number(text.trim());
  // Written whole, so anything else is not a lock of ours: say so rather than take it over.
  if (!Number.isInteger(pid) || pid <= 0)
    throw new Error(`${file} does not hold a process id; remove it if no hpclab companion runs`);
  return pid;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
