import type { ProfileConfig } from '../config/schema';
import { quoteWord, renderRemoteCommand } from '../transport/quote';
import { assertOneLine, renderEnvActivation } from '../sessions/env-activation';
import { RUN_MANIFEST_FILE, TASK_RUNNER_FILE } from './task-runner';

/*
 * The batch script of a run: a researcher's script, staged into its own run directory on the
 * cluster, started there in the profile's environment (as a session's Lab is) with Python's
 * output unbuffered, so the log shows progress as it happens.
 */

/** How a staged file is started: `python FILE`, `bash FILE`, `./FILE`, or executed as a notebook. */
export type RunKind = 'python' | 'shell' | 'executable' | 'notebook';

/** A file name as staged: one path component, printable, no leading '-' or '.'. */
const FILE_NAME = /^[A-Za-z0-9_+][A-Za-z0-9_+.,=@-]{0,199}$/;

/** Input a run cannot take; `field` names it as the API's body does (`params`, `sbatch`, …). */
export class RunInputError extends Error {
  name = 'RunInputError';
  constructor(
    message: string,
    readonly field = 'body'
  ) {
    super(message);
  }
}

/** The kind of `fileName`, or a RunInputError saying what is not supported (yet) and what to do. */
export function runKindOf(fileName: string): RunKind {
  if (!FILE_NAME.test(fileName))
    throw new RunInputError(
      `FILE: cannot stage ${JSON.stringify(fileName)}: use a file name of letters, digits and "_+.,=@-" (not starting with "." or "-"), without spaces`,
      'fileName'
    );
  if (/\.ipynb$/i.test(fileName)) return 'notebook';
  if (/\.py$/i.test(fileName)) return 'python';
  if (/\.(sh|bash)$/i.test(fileName)) return 'shell';
  return 'executable';
}

export interface RunScriptInput {
  runId: string;
  /** Absolute, on the cluster. */
  runDir: string;
  fileName: string;
  profile: ProfileConfig;
  /** The job has a GPU (Apptainer/Singularity bring the driver in only then). */
  gpu: boolean;
  /** Words after the file, passed as they are (never through a shell). */
  args?: readonly string[];
  /**
   * Start the task runner (notebooks, parameter sweeps) instead of the file: it reads the
   * manifest for the file, its arguments and this task's parameters.
   */
  viaRunner?: boolean;
}

/** The whole batch script, LF line endings only. */
export function renderRunScript(input: RunScriptInput): string {
  const kind = runKindOf(input.fileName);
  const viaRunner = input.viaRunner === true || kind === 'notebook';
  if (!input.runDir.startsWith('/')) throw new RunInputError(`the run directory must be absolute: ${input.runDir}`);
  assertOneLine('the run directory', input.runDir);
  (input.args ?? []).forEach((arg, i) => assertOneLine(`argument ${i + 1}`, arg));
  const env = renderEnvActivation(input.profile.env, { gpu: input.gpu });
  const file = `./${input.fileName}`;
  const argv = viaRunner
    ? [...env.python, `./${TASK_RUNNER_FILE}`, RUN_MANIFEST_FILE]
    : kind === 'python'
      ? [...env.python, file, ...(input.args ?? [])]
      : kind === 'shell'
        ? [...env.exec, 'bash', file, ...(input.args ?? [])]
        : [...env.exec, file, ...(input.args ?? [])];
  const lines = [
    '#!/bin/bash',
    `# hpclab run ${input.runId}: ${input.fileName}, rendered by hpclab.`,
    'umask 077',
    `hpclab_run_dir=${quoteWord(input.runDir)}`,
    '',
    "# The environment (and the profile's setup lines).",
    ...env.lines,
    '',
    `cd "$hpclab_run_dir" || { builtin printf 'hpclab: cannot enter the run directory %s\\n' "$hpclab_run_dir" >&2; exit 5; }`,
    "# exec: the script takes this shell's pid, so Slurm's signals (walltime, scancel) reach it.",
    `exec ${renderRemoteCommand(argv)}`
  ];
  for (const line of lines) assertOneLine('a job script line', line);
  return `${lines.join('\n')}\n`;
}
