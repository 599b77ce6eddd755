import { ConfigError, getCluster, getProfile } from '../../config/load';
import { slurmFields } from '../../config/slurm-grammar';
import type { SessionInfo, SessionOverrides } from '../../sessions/types';
import { renderRemoteCommand } from '../../transport/quote';
import { defineCommand } from '../args';
import type { CompanionClient } from '../companion-client';
import { openContext, pickProfile, UsageError, type CliContext } from '../context';
import type { ProcessEvents } from '../pty-session';
import {
  companionFor,
  describeStart,
  followSession,
  isOver,
  sessionPath,
  walltimeEnd,
  type ProgressLine
} from '../session-follow';

/*
 * `hpclab alloc`: a node held for the user with nothing running on it (salloc inside tmux,
 * without tmux), until `hpclab release` or its walltime. The companion submits and watches the
 * job, so the allocation outlives this command; `hpclab shell` opens terminals on it.
 */

/** What POST /api/sessions gets for an allocation. */
export interface AllocRequest {
  kind: 'alloc';
  profile: string;
  cluster?: string;
  overrides?: SessionOverrides;
}

/** --node, --time and --exclusive as session overrides; a bad value is a usage error naming the flag. */
export function allocOverrides(values: { node?: string; time?: string; exclusive?: boolean }): SessionOverrides {
  const overrides: SessionOverrides = {};
  if (values.node !== undefined) {
    if (!slurmFields.nodelist.test(values.node))
      throw new UsageError(
        `--node: expected ${slurmFields.nodelist.expected}, got ${JSON.stringify(values.node)}; e.g. --node c1 ('hpclab status' lists the partitions)`
      );
    overrides.nodelist = values.node;
  }
  if (values.time !== undefined) {
    if (!slurmFields.time.test(values.time))
      throw new UsageError(
        `--time: expected ${slurmFields.time.expected}, got ${JSON.stringify(values.time)}; e.g. --time 04:00:00 or --time 1-00:00:00`
      );
    overrides.time = values.time;
  }
  // `--exclusive` takes no value in sbatch: the empty string is how a bare option is sent.
  if (values.exclusive) overrides.sbatch = { exclusive: '' };
  return overrides;
}

/** The profile and cluster the flags name, checked against the config (a wrong name is a usage error). */
export function allocTarget(
  ctx: CliContext,
  flags: { profile?: string; cluster?: string }
): { profile: string; cluster: string | undefined } {
  const profile = pickProfile(ctx, flags.profile);
  asFlag('profile', ctx.configPath, () => getProfile(ctx.config, profile));
  if (flags.cluster !== undefined) asFlag('cluster', ctx.configPath, () => getCluster(ctx.config, flags.cluster!));
  return { profile, cluster: flags.cluster };
}

/** An unknown name is the flag's mistake (exit 2), said with the names there are. */
function asFlag(flag: string, configPath: string, check: () => unknown): void {
  try {
    check();
  } catch (err) {
    if (err instanceof ConfigError && err.kind === 'unknown-name')
      throw new UsageError(`--${flag}: ${err.message} in ${configPath}`);
    throw err;
  }
}

export const allocCommand = defineCommand({
  name: 'alloc',
  summary: 'Hold a compute node for yourself, with nothing running on it, until you release it',
  usage: ['hpclab alloc [--profile P] [--cluster C] [--node N] [--time T] [--exclusive] [--json] [--config FILE]'],
  description:
    "Asks Slurm for a node with the profile's partition, CPUs, memory and GPUs, and holds it with nothing running until 'hpclab release' or the walltime: salloc inside tmux, without tmux, and it survives a closed laptop. Shows the job's place in the queue while it waits (Ctrl-C gives up and cancels it), then prints the session, job, node and walltime end. 'hpclab shell' opens terminals on the node.",
  flags: {
    profile: {
      type: 'string',
      value: 'P',
      description: 'the profile to allocate with (default: defaults.profile in the config, else the only profile)'
    },
    cluster: { type: 'string', value: 'C', description: "the cluster, if not the profile's" },
    node: { type: 'string', value: 'N', description: 'a node to pin (sbatch --nodelist), e.g. c1 or gpu[01-02]' },
    time: {
      type: 'string',
      value: 'T',
      description: "the walltime instead of the profile's, as sbatch --time takes it: 04:00:00, 1-00:00:00, 90"
    },
    exclusive: { type: 'boolean', description: 'the whole node, shared with no other job (sbatch --exclusive)' },
    json: { type: 'boolean', description: 'print the running session as one JSON line instead of the summary' }
  },
  examples: [
    { description: 'A CPU node for the afternoon', command: 'hpclab alloc --profile cpu --time 04:00:00' },
    {
      description: 'Pin a node and have it to yourself; the session id for a script',
      command: 'hpclab alloc --profile gpu --node gpu03 --exclusive --json'
    }
  ],
  env: ['HPCLAB_CONFIG', 'XDG_CONFIG_HOME', 'XDG_STATE_HOME', 'XDG_RUNTIME_DIR', 'SSH_AUTH_SOCK', 'SHELL', 'CI'],
  async run({ values }) {
    const overrides = allocOverrides(values);
    const ctx = await openContext(values.config);
    await ctx.clusters.close(); // the companion holds the connections
    const { profile, cluster } = allocTarget(ctx, values);
    const request: AllocRequest = {
      kind: 'alloc',
      profile,
      ...(cluster ? { cluster } : {}),
      ...(Object.keys(overrides).length ? { overrides } : {})
    };
    const companion = await companionFor(ctx.configPath);
    return allocate(companion, request, {
      progress: ctx.progress,
      json: values.json === true,
      configFlag: values.config,
      events: process
    });
  }
});

export interface AllocIo {
  progress: ProgressLine;
  json: boolean;
  /** --config as given, repeated in the next commands printed. */
  configFlag?: string;
  events: Pick<ProcessEvents, 'on' | 'off'>;
  out?: (text: string) => void;
  err?: (text: string) => void;
  /** How often to ask the companion while waiting (tests). */
  everyMs?: number;
}

/** Submits the allocation and waits until it runs; Ctrl-C meanwhile cancels it. Returns the exit code. */
export async function allocate(client: CompanionClient, request: AllocRequest, io: AllocIo): Promise<number> {
  const out = io.out ?? ((text: string) => process.stdout.write(text));
  const err = io.err ?? ((text: string) => process.stderr.write(text));
  const interrupted = new AbortController();
  const onInterrupt = () => interrupted.abort(new Error('interrupted'));
  // Installed before the job is submitted: a Ctrl-C while sbatch runs must still cancel it.
  io.events.on('SIGINT', onInterrupt);
  let session: SessionInfo | undefined;
  try {
    io.progress.update(`Submitting a ${request.profile} allocation…`);
    session = await client.request<SessionInfo>('POST', '/hpclab/api/sessions', request);
    const running = await followSession(client, session.id, {
      until: s => s.state === 'running' || isOver(s),
      describe: describeStart,
      progress: io.progress,
      signal: interrupted.signal,
      everyMs: io.everyMs
    });
    if (isOver(running))
      throw new Error(
        `the allocation ${running.state}${running.endReason ? ` (${running.endReason})` : ''}${running.message ? `: ${running.message}` : ''}`
      );
    out(io.json ? `${JSON.stringify(running)}\n` : allocSummary(running, io.configFlag));
    return 0;
  } catch (error) {
    if (!interrupted.signal.aborted) throw error;
    io.progress.stop();
    // Nobody waits for it any more: a pending job left behind would start at night and hold a node for nothing.
    if (!session) {
      err("hpclab alloc: interrupted while submitting; 'hpclab sessions' shows whether a job was made\n");
      return 130;
    }
    const id = session.id;
    await client.request<SessionInfo>('DELETE', sessionPath(id)).then(
      stopped => {
        const job = stopped.jobId ?? session!.jobId;
        err(`hpclab alloc: interrupted; cancelled session ${id}${job ? ` (job ${job})` : ''}\n`);
      },
      (e: Error) =>
        err(`hpclab alloc: interrupted, but could not cancel session ${id}: ${e.message}; run hpclab release ${id}\n`)
    );
    return 130;
  } finally {
    // A spinner left running would keep hpclab from exiting after a failure.
    io.progress.stop();
    io.events.off('SIGINT', onInterrupt);
  }
}

/** What `hpclab alloc` prints once the node is held: where, until when, and what to run next. */
export function allocSummary(s: SessionInfo, configFlag?: string, now = Date.now()): string {
  const config = configFlag ? ['--config', configFlag] : [];
  const shell = renderRemoteCommand(['hpclab', 'shell', s.id, ...config]);
  const release = renderRemoteCommand(['hpclab', 'release', s.id, ...config]);
  const width = Math.max(shell.length, release.length);
  return [
    `Allocated ${s.node ?? 'a node'} (job ${s.jobId ?? '?'}, session ${s.id}) ${walltimeEnd(s.endsAt, now)}.`,
    `  ${shell.padEnd(width)}   a shell on ${s.node ?? 'the node'}`,
    `  ${release.padEnd(width)}   free the node when done`,
    ''
  ].join('\n');
}
