import { slurmFields } from '../config/slurm-grammar';
import { UsageError } from './context';

/*
 * What `hpclab shell` runs on the login node: a job step inside the session's allocation, with
 * a terminal, on its node. Built as argv (the transport renders it for the remote shell with
 * quote.ts); every word from the session or the user stays one word.
 */

/**
 * No command given: the user's own login shell, as a login shell. $SHELL comes from the login
 * node (sshd sets it from the account; srun exports it to the step), bash where a site exports
 * nothing. A fixed script: no word of it comes from input.
 */
export const LOGIN_SHELL: readonly string[] = ['sh', '-c', 'exec "${SHELL:-/bin/bash}" -l'];

/** Slurm job ids hpclab acts on (a job, or one array task), as scheduler/validate.ts has them. */
const JOB_ID = /^\d{1,10}(?:_\d{1,10})?$/;

/** One node's name, nothing srun could read otherwise (a range, a list, an option). */
const NODE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$/;

/**
 * The command after `--`, checked before anything connects: srun reads a first word starting
 * with '-' as its own option, and no command line can carry a NUL.
 */
export function remoteCommand(words: readonly string[]): readonly string[] {
  if (words.length === 0) return LOGIN_SHELL;
  if (words.some(w => w.includes('\0')))
    throw new UsageError('CMD: an argument holds a NUL byte, which no command line can carry');
  if (words[0] === '' || words[0].startsWith('-'))
    throw new UsageError(
      `CMD: the command must start with a program, not ${JSON.stringify(words[0])} (srun would read it as its own option), e.g. hpclab shell -- python3 -i`
    );
  return words;
}

/**
 * `srun --jobid=J --overlap --pty -N1 -n1 [-w NODE] CMD…`: `--overlap` shares the allocation
 * with whatever else runs in it (a kernel, another shell). `-w` pins the step to the session's
 * node when that is one node; for a list, srun starts the one task on the first.
 */
export function srunShellArgv(
  session: { jobId: string | null; node: string | null },
  command: readonly string[]
): string[] {
  const { jobId, node } = session;
  if (!jobId || !JOB_ID.test(jobId))
    throw new Error(`the session's job id ${JSON.stringify(jobId)} is not a Slurm job id; not running srun with it`);
  let pin: string[] = [];
  if (node && NODE_NAME.test(node)) pin = ['-w', node];
  else if (node && !slurmFields.nodelist.test(node))
    throw new Error(`the session's node ${JSON.stringify(node)} is not a Slurm node name; not running srun with it`);
  return ['srun', `--jobid=${jobId}`, '--overlap', '--pty', '-N1', '-n1', ...pin, ...command];
}
