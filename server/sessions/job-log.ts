import type { Logger } from '../log';
import type { Transport } from '../transport/types';

/* A session's job.log on the cluster (the job's stdout and stderr), read through the transport. */

/** The last `tailBytes` of the log; empty when there is none yet. */
export async function readJobLogTail(transport: Transport, sessionDir: string, tailBytes: number): Promise<string> {
  const r = await transport.exec(['tail', '-c', String(tailBytes), `${sessionDir}/job.log`]);
  return r.code === 0 ? r.stdout : '';
}

/** The log's size, and its bytes after `offset` (1 MiB at most per read). */
export async function readJobLogFrom(
  transport: Transport,
  sessionDir: string,
  offset: number
): Promise<{ text: string; size: number }> {
  // Size first, then the bytes; a fixed script, the values as arguments.
  const script =
    'f=$1; s=$(stat -c %s -- "$f" 2>/dev/null || echo 0); echo "$s"; [ "$2" -lt "$s" ] && tail -c +"$(($2 + 1))" -- "$f" | head -c 1048576; exit 0';
  const from = Math.min(offset, Number.MAX_SAFE_INTEGER - 1);
  const r = await transport.exec(['sh', '-c', script, 'sh', `${sessionDir}/job.log`, String(from)]);
  const newline = r.stdout.indexOf('\n');
  return { size: Number(r.stdout.slice(0, newline)) || 0, text: r.stdout.slice(newline + 1) };
}

/**
 * The end of the log for a failed session's message. Asked up to three times a second apart: a
 * failure often comes with a busy or just re-made link, and the tail is what says why. Without
 * it the message still says how the job ended; each failed read is a debug entry.
 */
export async function jobLogTailForEnd(
  read: () => Promise<string>,
  logger: Logger,
  sessionId: string
): Promise<string> {
  for (let attempt = 1; attempt <= 3; attempt++) {
    const tail = await read().catch(err => {
      logger.debug(`session ${sessionId}: cannot read the end of job.log (attempt ${attempt} of 3)`, err);
      return '';
    });
    if (tail.trim()) return tail;
    await new Promise(r => setTimeout(r, 1000));
  }
  return '';
}
