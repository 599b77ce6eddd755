import type { SessionInfo } from '../../sessions/types';
import { parseCommandArgs, type Command } from '../args';
import type { CompanionClient } from '../companion-client';
import { openContext, UsageError } from '../context';
import { exitCodeOf, ptyOptionsFor, runPtySession, signalName } from '../pty-session';
import { checkSessionWord, onlySession } from '../session-choice';
import { companionFor, sessionPath, walltimeEnd } from '../session-follow';
import { remoteCommand, srunShellArgv } from '../srun-shell';

/*
 * `hpclab shell`: a terminal on a session's node, as a job step in its allocation (srun --pty
 * --overlap) started on the login node over the cluster's SSH connection. The words after `--`
 * are the remote command's, cut off before parsing: parseArgs would mix them with SESSION.
 */

/** The session to open a shell on: the one named, else the only running alloc or lab session. */
export async function shellSession(companion: CompanionClient, id: string | undefined): Promise<SessionInfo> {
  const session = id
    ? await companion.request<SessionInfo>('GET', sessionPath(id))
    : onlySession(
        await companion.request<SessionInfo[]>('GET', '/hpclab/api/sessions'),
        { kinds: ['alloc', 'lab'], states: ['running'], label: 'running alloc or lab session' },
        'shell'
      );
  if (session.state !== 'running')
    throw new Error(
      `session ${session.id} is ${session.state}, not running${session.state === 'pending' ? ': wait for it (hpclab sessions shows its place in the queue)' : ''}`
    );
  return session;
}

/** The command's own words, and the remote command's (after the first `--`). */
export function splitShellArgv(argv: readonly string[]): { own: string[]; remote: string[] } {
  const cut = argv.indexOf('--');
  return cut < 0 ? { own: [...argv], remote: [] } : { own: argv.slice(0, cut), remote: argv.slice(cut + 1) };
}

export const shellCommand: Command = {
  name: 'shell',
  summary: "A terminal on a session's node (a job step in its allocation); Ctrl-C reaches the node",
  usage: ['hpclab shell [SESSION] [--config FILE] [-- CMD [ARG...]]'],
  description:
    "Opens a terminal on the node of a running session (one from 'hpclab alloc', or a Lab session) as a job step inside its allocation: srun --jobid --overlap --pty, started on the login node over SSH, so it runs within the job's CPUs and memory, not on the login node. Keys go through as typed: Ctrl-C interrupts the command running on the node, not hpclab. The window size follows yours. Leaving the shell leaves the node allocated; hpclab release frees it. hpclab exits with the remote command's exit code.",
  flags: {},
  arguments: [
    { name: 'SESSION', description: 'the session (default: your only running alloc or Lab session)' },
    {
      name: 'CMD',
      description: 'what to run on the node, after --, instead of your login shell (e.g. -- nvidia-smi -l 1)'
    }
  ],
  examples: [
    { description: 'A shell on the node you allocated', command: 'hpclab shell' },
    { description: 'Watch the GPUs of one session', command: 'hpclab shell 3f9a2b1c4d5e -- nvidia-smi -l 1' }
  ],
  env: ['HPCLAB_CONFIG', 'XDG_CONFIG_HOME', 'XDG_STATE_HOME', 'XDG_RUNTIME_DIR', 'SSH_AUTH_SOCK', 'SHELL', 'TERM'],
  async run(argv) {
    const { own, remote } = splitShellArgv(argv);
    const command = remoteCommand(remote);
    const { values, positionals } = parseCommandArgs(shellCommand, own);
    const [word, ...extra] = positionals;
    if (extra.length)
      throw new UsageError(
        `unexpected ${JSON.stringify(extra[0])}: the command to run goes after --, e.g. hpclab shell ${word} -- ${extra.join(' ')}`
      );
    const id = checkSessionWord(word, 'shell');
    const ctx = await openContext(values.config);
    try {
      const session = await shellSession(await companionFor(ctx.configPath), id);
      const srun = srunShellArgv(session, command);
      const { transport } = ctx.clusters.get(session.cluster);
      if (!transport.execPty) throw new Error(`cluster ${session.cluster}: its transport cannot open a terminal`);
      const terminal = { stdin: process.stdin, stdout: process.stdout };
      const where = `${session.node ?? 'the node'} (job ${session.jobId}, session ${session.id})`;
      const proc = await ctx.progress.during(`Opening a shell on ${where}…`, () =>
        transport.execPty!(srun, ptyOptionsFor(terminal, process.env))
      );
      if (process.stdin.isTTY)
        process.stderr.write(
          `hpclab shell: on ${where}, allocated ${walltimeEnd(session.endsAt)}; leaving keeps the node (hpclab release frees it)\n`
        );
      const end = await runPtySession(proc, terminal, process);
      if (end.code === null) {
        const signal = end.signal ? signalName(end.signal) : 'an unknown signal';
        process.stderr.write(
          `hpclab shell: the command on ${session.node ?? 'the node'} ended by ${signal === 'SIGHUP' ? 'a hangup (its terminal or the connection closed)' : signal}\n`
        );
      }
      return exitCodeOf(end);
    } finally {
      await ctx.clusters.close();
    }
  }
};
