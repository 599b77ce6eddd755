import type { SessionInfo } from '../../sessions/types';
import { defineCommand } from '../args';
import type { CompanionClient } from '../companion-client';
import { openContext, UsageError } from '../context';
import { checkSessionWord, onlySession } from '../session-choice';
import { companionFor, FollowTimeout, followSession, isOver, sessionPath, type ProgressLine } from '../session-follow';

/*
 * `hpclab release`: the end of `hpclab alloc`. The companion cancels the job; this waits until
 * Slurm has let the node go, so "released" means released.
 */

/** How long Slurm gets to end the job before we stop waiting (it still ends; the user is told how to check). */
const RELEASE_WAIT_MS = 120_000;

export const releaseCommand = defineCommand({
  name: 'release',
  summary: "Free a node held with 'hpclab alloc' (cancel its job) and wait until it is gone",
  usage: ['hpclab release [SESSION] [--json] [--config FILE]'],
  description:
    "Cancels the session's Slurm job, whatever it is doing (a job still waiting in the queue is taken out of it), and waits until Slurm has ended it. Shells open on the node end with it. Without SESSION, releases your only alloc session.",
  flags: {
    json: { type: 'boolean', description: 'print the ended session as one JSON line instead of a sentence' }
  },
  arguments: [{ name: 'SESSION', description: 'the session to release (default: your only alloc session)' }],
  examples: [
    { description: 'Free the node you allocated', command: 'hpclab release' },
    { description: 'Free one of several', command: 'hpclab release 3f9a2b1c4d5e' }
  ],
  env: ['HPCLAB_CONFIG', 'XDG_CONFIG_HOME', 'XDG_STATE_HOME', 'XDG_RUNTIME_DIR', 'SSH_AUTH_SOCK', 'SHELL', 'CI'],
  async run({ values, positionals }) {
    const [word, ...extra] = positionals;
    if (extra.length) throw new UsageError(`unexpected ${JSON.stringify(extra[0])}: release one session at a time`);
    const id = checkSessionWord(word, 'release');
    const ctx = await openContext(values.config);
    await ctx.clusters.close(); // the companion holds the connections
    const companion = await companionFor(ctx.configPath);
    return release(companion, id, { progress: ctx.progress, json: values.json === true });
  }
});

export interface ReleaseIo {
  progress: ProgressLine;
  json: boolean;
  out?: (text: string) => void;
  /** How often to ask the companion, and for how long (tests). */
  everyMs?: number;
  timeoutMs?: number;
}

/** Cancels the session's job and waits for its end; returns the exit code. */
export async function release(client: CompanionClient, id: string | undefined, io: ReleaseIo): Promise<number> {
  const out = io.out ?? ((text: string) => process.stdout.write(text));
  const target = id
    ? await client.request<SessionInfo>('GET', sessionPath(id))
    : onlySession(
        await client.request<SessionInfo[]>('GET', '/hpclab/api/sessions'),
        { kinds: ['alloc'], states: ['pending', 'starting', 'running'], label: 'alloc session' },
        'release'
      );
  if (isOver(target)) {
    out(
      io.json
        ? `${JSON.stringify(target)}\n`
        : `Session ${target.id} already ${target.state}${target.endReason ? ` (${target.endReason})` : ''}.\n`
    );
    return 0;
  }
  let ended: SessionInfo;
  try {
    io.progress.update(`Releasing ${what(target)}…`);
    await client.request<SessionInfo>('DELETE', sessionPath(target.id));
    ended = await followSession(client, target.id, {
      until: isOver,
      describe: s => `Releasing ${what(s)}: waiting for Slurm to end it (${s.state})…`,
      progress: io.progress,
      everyMs: io.everyMs,
      timeoutMs: io.timeoutMs ?? RELEASE_WAIT_MS
    });
  } catch (err) {
    if (!(err instanceof FollowTimeout)) throw err;
    throw new Error(
      `asked Slurm to end ${what(target)}, but the session is still ${err.session.state} after ${Math.round((io.timeoutMs ?? RELEASE_WAIT_MS) / 1000)} s; 'hpclab sessions' shows when it ends`
    );
  } finally {
    // A spinner left running would keep hpclab from exiting after a failure.
    io.progress.stop();
  }
  if (io.json) out(`${JSON.stringify(ended)}\n`);
  else if (target.node) out(`Released node ${target.node} (job ${target.jobId})\n`);
  else out(`Cancelled ${target.jobId ? `job ${target.jobId}` : `session ${target.id}`} before it got a node\n`);
  return 0;
}

/** `node c1 (job 123)`, or what is known before there is a node. */
function what(s: SessionInfo): string {
  if (s.node) return `node ${s.node} (job ${s.jobId})`;
  return s.jobId ? `job ${s.jobId}` : `session ${s.id}`;
}
