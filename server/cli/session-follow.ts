import type { SessionInfo } from '../sessions/types';
import { findCompanion, type CompanionClient } from './companion-client';
import { duration } from './format';
import { ensureLocalCompanion } from './local-companion';

/*
 * alloc, shell and release ask the user's companion, the one that holds the cluster's
 * connection and watches its queue, rather than Slurm: one squeue per cluster, whoever asks.
 * A companion started here lives on in the background, so the session outlives the command.
 */

/** The running companion (started in the background with this config if none runs), ready for requests. */
export async function companionFor(configPath: string): Promise<CompanionClient> {
  await ensureLocalCompanion(configPath, message => process.stderr.write(`${message}\n`));
  const client = await findCompanion();
  if (!client) throw new Error('the companion started, then could not be found: run hpclab companion to see why');
  return client;
}

export const sessionPath = (id: string) => `/hpclab/api/sessions/${encodeURIComponent(id)}`;

/** Just what is needed of a progress line (cli/progress.ts). */
export interface ProgressLine {
  update(message: string): void;
  stop(): void;
}

export interface FollowOptions {
  /** True once the session is where the caller waits for it to be. */
  until(session: SessionInfo): boolean;
  /** The progress line's words for a session still on its way. */
  describe(session: SessionInfo): string;
  progress: ProgressLine;
  /** Aborted (Ctrl-C): stop waiting; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Give up after this long (default: never): the promise rejects with FollowTimeout. */
  timeoutMs?: number;
  /** How often to ask the companion, which answers from its cache (default 1 s). */
  everyMs?: number;
}

/** Waited too long: the session as last seen, for the message. */
export class FollowTimeout extends Error {
  constructor(readonly session: SessionInfo) {
    super(`session ${session.id} is still ${session.state}`);
  }
}

/** Asks the companion about the session until `until` holds, showing where it is on the progress line. */
export async function followSession(client: CompanionClient, id: string, o: FollowOptions): Promise<SessionInfo> {
  const deadline = Date.now() + (o.timeoutMs ?? Infinity);
  try {
    for (;;) {
      o.signal?.throwIfAborted();
      const session = await client.request<SessionInfo>('GET', sessionPath(id));
      if (o.until(session)) return session;
      if (Date.now() >= deadline) throw new FollowTimeout(session);
      o.progress.update(o.describe(session));
      await pause(o.everyMs ?? 1_000, o.signal);
    }
  } finally {
    o.progress.stop();
  }
}

function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Where a session on its way to running is: queue reason, place and estimate, as `hpclab tunnel` says it. */
export function describeStart(s: SessionInfo): string {
  if (!s.jobId) return `Submitting the ${s.profile} allocation to ${s.cluster}…`;
  if (s.state === 'pending') {
    const where = s.pending?.position ? `, #${s.pending.position} in the queue` : '';
    const when = s.pending?.estimatedStart
      ? `, estimated start ${new Date(s.pending.estimatedStart).toLocaleTimeString()}`
      : '';
    return `Job ${s.jobId} pending (${s.pending?.reason ?? 'waiting'}${where}${when})…`;
  }
  return `Job ${s.jobId} ${s.state}${s.node ? ` on ${s.node}` : ''}…`;
}

/** The session is over, one way or the other. */
export const isOver = (s: SessionInfo) => s.state === 'ended' || s.state === 'failed';

/** `until 2026-12-06 15:04 (01:00:00 left)`, in local time; or that there is no limit. */
export function walltimeEnd(endsAt: string | null, now = Date.now()): string {
  if (!endsAt) return 'with no time limit';
  const end = new Date(endsAt);
  const two = (n: number) => String(n).padStart(2, '0');
  const local = `${end.getFullYear()}-${two(end.getMonth() + 1)}-${two(end.getDate())} ${two(end.getHours())}:${two(end.getMinutes())}`;
  return `until ${local} (${duration(Math.max(0, Math.round((end.getTime() - now) / 1000)))} left)`;
}
