import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { ensurePrivateDir, writePrivateFileAtomic } from '../config/paths';
import { StateSaveError } from './errors';
import type { SessionInfo, SessionTarget } from './types';

/** A session as the companion keeps it: what users see plus what only the companion may know. */
export interface SessionRecord {
  info: SessionInfo;
  /** Absolute path of the session's 0700 directory on the cluster. */
  sessionDir: string;
  /** The node server's address and token, from the rendezvous file; never sent to clients. */
  target: SessionTarget | null;
  token: string | null;
  /** The user asked to stop it: a CANCELLED job then ends as 'cancelled', not 'failed'. */
  stopRequested: boolean;
  idempotencyKey: string | null;
}

const recordSchema = z.object({
  info: z.object({ id: z.string().regex(/^[a-z0-9]{6,32}$/) }).loose(),
  sessionDir: z.string(),
  target: z.union([
    z.object({ host: z.string(), port: z.number() }),
    z.object({ socketPath: z.string() }),
    z.object({ socketDir: z.string(), socket: z.string(), relayPython: z.string() }),
    z.null()
  ]),
  token: z.string().nullable(),
  stopRequested: z.boolean(),
  idempotencyKey: z.string().nullable()
});
const fileSchema = z.object({ version: z.literal(1), sessions: z.array(recordSchema) });

/**
 * Sessions on disk (0600 JSON in the 0700 state dir), written atomically: a crash or a failed
 * write leaves the previous file whole. Writes are serialised so the last state always wins.
 */
export class SessionStore {
  private writing: Promise<void> = Promise.resolve();

  constructor(readonly file: string) {}

  async load(): Promise<SessionRecord[]> {
    let text: string;
    try {
      text = await fs.readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const parsed = fileSchema.safeParse(JSON.parse(text));
    if (!parsed.success)
      throw new Error(
        `${this.file} is not a session store this version understands: ${parsed.error.issues[0]?.message}`
      );
    return parsed.data.sessions as unknown as SessionRecord[];
  }

  /** Saves a snapshot; rejects with an error naming the file when the disk refuses. */
  save(records: readonly SessionRecord[]): Promise<void> {
    const body = JSON.stringify({ version: 1, sessions: records }, null, 1) + '\n';
    const next = this.writing.then(async () => {
      try {
        await ensurePrivateDir(path.dirname(this.file));
        await writePrivateFileAtomic(this.file, body);
      } catch (err) {
        throw new StateSaveError(this.file, err);
      }
    });
    // A failed write must not block the ones after it; its error goes to this call's caller.
    this.writing = next.catch(() => undefined);
    return next;
  }
}
