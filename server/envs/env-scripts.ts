import { renderEnvActivation } from '../sessions/env-activation';
import type { EnvPlan } from './env-input';

/*
 * The argv of each step of making an env on the login node. Every script here is fixed text
 * plus lines rendered by env-activation (which quotes every value through quote.ts); the
 * user's words (the path, the interpreter, pip's arguments) reach the scripts only as
 * positional parameters ("$1", "$@"), never inside them.
 */

/** The line the prepare script ends with: `hpclab-env <TAB> existed(0|1) <TAB> absolute path`. */
export const TARGET_MARK = 'hpclab-env';

/** Exit codes of the prepare script, each turned into a message that names the fix. */
export const PREPARE_EXIT = {
  /** From env-activation: the module or the python cannot be found or loaded. */
  activation: 3,
  notEmpty: 10,
  notDirectory: 11,
  cannotCreate: 12,
  noConda: 13
} as const;

/** Where the requirements are uploaded, inside the env: what the env was made from stays with it. */
export const REQUIREMENTS_FILE = 'hpclab-requirements.txt';

/** pip without questions, version nags or progress bars: its output is read line by line. */
const PIP_INSTALL = ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '--progress-bar', 'off'];

/**
 * Resolves `~/` against the login node's $HOME, refuses a target that is not an empty
 * directory (or absent), makes it, and prints where it is. `existed` tells the rollback whether
 * the directory is ours to remove or only its contents (an empty directory the user made).
 */
const PREPARE = [
  'p=$1',
  `case $p in '~/'*) p=$HOME/\${p#'~/'} ;; esac`,
  `if [ -L "$p" ] || { [ -e "$p" ] && [ ! -d "$p" ]; }; then printf 'hpclab: %s exists and is not a directory\\n' "$p"; exit ${PREPARE_EXIT.notDirectory}; fi`,
  'existed=0',
  'if [ -d "$p" ]; then',
  `  listing=$(ls -A -- "$p") || { printf 'hpclab: cannot read %s\\n' "$p"; exit ${PREPARE_EXIT.cannotCreate}; }`,
  `  if [ -n "$listing" ]; then printf 'hpclab: %s exists and is not empty\\n' "$p"; exit ${PREPARE_EXIT.notEmpty}; fi`,
  '  existed=1',
  'fi',
  'umask 022',
  `mkdir -p -- "$p" && cd -- "$p" || { printf 'hpclab: cannot make %s\\n' "$p"; exit ${PREPARE_EXIT.cannotCreate}; }`,
  `printf '${TARGET_MARK}\\t%s\\t%s\\n' "$existed" "$PWD"`
];

const CONDA_CHECK = `command -v conda >/dev/null 2>&1 || { echo 'hpclab: conda not found on the login node'; exit ${PREPARE_EXIT.noConda}; }`;

/**
 * Removes what a failed create left: the directory when this run made it, else only what is in
 * it (it was empty). Refuses anything but an absolute path below `/`, whatever the caller passed.
 */
const ROLLBACK = [
  'case $1 in /?*) ;; *) echo "hpclab: refusing to remove $1"; exit 2 ;; esac',
  'if [ "$2" = 1 ]; then find "$1" -mindepth 1 -maxdepth 1 -exec rm -rf -- {} +; else rm -rf -- "$1"; fi'
].join('\n');

/**
 * The lines that load the plan's module (env-activation's own, with its init of `module` in a
 * non-interactive shell) and check that `python` can run afterwards; conda's check is its own.
 */
export function preludeLines(plan: Pick<EnvPlan, 'module'>, python: string | 'conda'): string[] {
  if (python !== 'conda')
    return renderEnvActivation(plan.module !== undefined ? { modules: [plan.module], python } : { python }).lines;
  if (plan.module === undefined) return [CONDA_CHECK];
  // The module's lines without the python check env-activation ends with (conda brings its own).
  const check = renderEnvActivation({ python: 'python3' }).lines.at(-1);
  const lines = renderEnvActivation({ modules: [plan.module], python: 'python3' }).lines.filter(l => l !== check);
  return [...lines, CONDA_CHECK];
}

/** bash runs the prelude, then `"$@"`, with stderr joined to stdout so the lines keep their order. */
function stepArgv(prelude: string[], script: string[], args: string[]): string[] {
  return ['bash', '-c', ['exec 2>&1', ...prelude, ...script].join('\n'), 'bash', ...args];
}

/** Checks the tools (module, python or conda), then makes the target directory; prints TARGET_MARK. */
export function prepareArgv(plan: EnvPlan): string[] {
  return stepArgv(preludeLines(plan, plan.kind === 'conda' ? 'conda' : plan.python), PREPARE, [plan.path]);
}

/** `python -m venv DIR` or `conda create -p DIR`, on the login node (compute nodes often have no internet). */
export function createArgv(plan: EnvPlan, dir: string): string[] {
  const command =
    plan.kind === 'conda'
      ? // ipykernel in the same solve: one download of the index instead of two.
        ['conda', 'create', '--yes', '--prefix', dir, 'python', 'pip', 'ipykernel']
      : [plan.python, '-m', 'venv', ...(plan.systemSitePackages ? ['--system-site-packages'] : []), dir];
  return stepArgv(preludeLines(plan, plan.kind === 'conda' ? 'conda' : plan.python), ['exec "$@"'], command);
}

/** The env's own python, with the module loaded when the env was made from one. */
function envPythonArgv(plan: EnvPlan, dir: string, args: string[]): string[] {
  const python = `${dir}/bin/python`;
  return stepArgv(preludeLines(plan, python), ['exec "$@"'], [python, ...args]);
}

/** Exits 0 when ipykernel is importable in the env. */
export function ipykernelCheckArgv(plan: EnvPlan, dir: string): string[] {
  return envPythonArgv(plan, dir, ['-c', 'import ipykernel']);
}

export function pipInstallArgv(plan: EnvPlan, dir: string, what: { packages: string[] } | { file: string }): string[] {
  return envPythonArgv(plan, dir, [...PIP_INSTALL, ...('file' in what ? ['-r', what.file] : what.packages)]);
}

export function rollbackArgv(dir: string, existed: boolean): string[] {
  return ['sh', '-c', ROLLBACK, 'sh', dir, existed ? '1' : '0'];
}

/** The prepare script's answer: where the env goes, and whether the (empty) directory was there before. */
export function parseTarget(stdout: string): { dir: string; existed: boolean } | undefined {
  const line = stdout
    .split('\n')
    .reverse()
    .find(l => l.startsWith(`${TARGET_MARK}\t`));
  const [, existed, dir] = line?.split('\t') ?? [];
  if ((existed !== '0' && existed !== '1') || !dir?.startsWith('/')) return undefined;
  return { dir, existed: existed === '1' };
}
