import { CONFIG_DEFAULTS, type EnvConfig } from '../config/schema';
import { quoteWord, renderRemoteCommand } from '../transport/quote';

/*
 * The bash lines that make a profile's environment usable inside a Slurm batch job.
 *
 * Batch shells are non-interactive and usually not login shells, so what the user's terminal
 * has (`module`, `conda activate`) is often missing there (batchspawner#246). Each kind
 * therefore brings its own tools into the shell and fails with a message on stderr (which
 * lands in job.log) and exit code 3 when it cannot, rather than starting the wrong Python.
 *
 * Every value from the config reaches the shell through quote.ts; only the user's own `setup`
 * lines go in verbatim, by design, after a check that each really is one line.
 */

export interface EnvActivation {
  /** bash lines to run, in order, before anything uses the environment. */
  lines: string[];
  /** argv prefix that runs a command inside the environment: [] unless it is a container. */
  exec: string[];
  /** argv prefix that runs the environment's python (`exec` plus the interpreter). */
  python: string[];
}

/** Exit code of a job whose environment could not be set up. */
export const ENV_EXIT_CODE = 3;

/** A line that prints `message` (a printf format; `%s` takes `args`) to stderr and exits 3. */
function failLine(message: string, ...args: string[]): string {
  const words = ['printf', `hpclab: ${message}\\n`, ...args];
  return `{ ${renderRemoteCommand(words)} >&2; exit ${ENV_EXIT_CODE}; }`;
}

/** Refuses a value that would not stay one line of the job script (CRLF never reaches the cluster). */
export function assertOneLine(what: string, value: string): void {
  if (/[\0\r\n]/.test(value))
    throw new TypeError(`${what} must be one line without NUL, CR or LF: ${JSON.stringify(value)}`);
}

/** Fails unless `command` is something bash can run (a clear message instead of "command not found" later). */
function requireCommand(command: string, what: string): string {
  return `command -v ${quoteWord(command)} >/dev/null 2>&1 || ${failLine(`${what} %s not found on this node`, command)}`;
}

/** Makes `module` a shell function when the batch shell lacks it (Lmod or Environment Modules). */
const MODULE_INIT = [
  'if [ "$(type -t module)" != function ]; then',
  '  for hpclab_init in ${MODULESHOME:+"$MODULESHOME/init/bash"} ${LMOD_PKG:+"$LMOD_PKG/init/bash"} \\',
  '      /etc/profile.d/lmod.sh /etc/profile.d/z00_lmod.sh /etc/profile.d/modules.sh \\',
  '      /usr/share/lmod/lmod/init/bash /usr/share/Modules/init/bash; do',
  '    if [ -r "$hpclab_init" ]; then source "$hpclab_init"; fi',
  '    if [ "$(type -t module)" = function ]; then break; fi',
  '  done',
  'fi',
  `if [ "$(type -t module)" != function ]; then ${failLine('no "module" command on this node (looked for Lmod and Environment Modules init scripts)')}; fi`
];

/** Makes `conda activate` work in a non-interactive shell: the hook from conda on PATH, $CONDA_EXE or a usual install. */
const CONDA_INIT = [
  'if [ "$(type -t conda)" != function ]; then',
  '  if command -v conda >/dev/null 2>&1; then eval "$(conda shell.bash hook)"',
  '  elif [ -n "${CONDA_EXE:-}" ] && [ -x "$CONDA_EXE" ]; then eval "$("$CONDA_EXE" shell.bash hook)"',
  '  else',
  '    for hpclab_init in "$HOME/miniforge3" "$HOME/miniconda3" "$HOME/anaconda3" "$HOME/mambaforge" /opt/conda; do',
  '      if [ -r "$hpclab_init/etc/profile.d/conda.sh" ]; then source "$hpclab_init/etc/profile.d/conda.sh"; break; fi',
  '    done',
  '  fi',
  'fi',
  `if [ "$(type -t conda)" != function ]; then ${failLine('conda not found (not on PATH, no $CONDA_EXE, none in ~/miniforge3, ~/miniconda3, ~/anaconda3, ~/mambaforge or /opt/conda)')}; fi`
];

/**
 * Charliecloud 0.31 starts the program in the image's `/` and mounts no home unless told: the
 * run directory, the session directory and a kernel's connection file would all be out of
 * reach. `--home` brings $HOME in (at /home/$USER) and `-c "$PWD"` keeps the working directory.
 * "$PWD" must be read where the command runs, and every word the caller renders is quoted, so
 * a fixed bash script adds it, with everything else passed on as positional arguments.
 */
const CH_RUN_HERE = 'exec ch-run --home -c "$PWD" "$@"';

function containerExec(container: Extract<EnvConfig, { container: unknown }>['container'], gpu: boolean): string[] {
  const binds = container.bind ?? [];
  if (container.runtime === 'charliecloud') {
    // GPU libraries enter a Charliecloud image with ch-fromhost when it is built; ch-run has no --nv.
    return ['bash', '-c', CH_RUN_HERE, 'ch-run', ...binds.flatMap(b => ['-b', b]), container.image, '--'];
  }
  return [container.runtime, 'exec', ...(gpu ? ['--nv'] : []), ...binds.flatMap(b => ['--bind', b]), container.image];
}

/** The program that must be on PATH for the environment to start. */
function runtimeCommand(container: Extract<EnvConfig, { container: unknown }>['container']): string {
  return container.runtime === 'charliecloud' ? 'ch-run' : container.runtime;
}

/**
 * Lines that activate `env` in a bash batch script, and how to run python (and any other
 * command) inside it afterwards. `gpu` asks Apptainer/Singularity to bring the host's NVIDIA
 * driver in (`--nv`); pass it only when the job has a GPU, since --nv warns loudly without one.
 * The env's `setup` lines follow the activation, so they can use the environment.
 */
export function renderEnvActivation(env: EnvConfig | undefined, options: { gpu?: boolean } = {}): EnvActivation {
  // Output reaches job.log as it happens, not when a 4 KiB buffer fills or the job ends.
  const lines = ['export PYTHONUNBUFFERED=1'];
  let exec: string[] = [];
  let runtime: string | undefined;
  let python: string = CONFIG_DEFAULTS.python;

  if (env === undefined) {
    // The batch shell's own python3 and jupyter.
  } else if ('conda' in env) {
    lines.push(
      ...CONDA_INIT,
      `${renderRemoteCommand(['conda', 'activate', env.conda])} || ${failLine('conda activate %s failed', env.conda)}`
    );
    python = env.python ?? python;
  } else if ('venv' in env) {
    const activate = `${env.venv.replace(/\/+$/, '')}/bin/activate`;
    lines.push(
      `if [ ! -r ${quoteWord(activate)} ]; then ${failLine('no venv activate script at %s', activate)}; fi`,
      `source ${quoteWord(activate)}`
    );
    python = `${env.venv.replace(/\/+$/, '')}/bin/python`;
  } else if ('modules' in env) {
    lines.push(
      ...MODULE_INIT,
      `${renderRemoteCommand(['module', 'load', ...env.modules])} || ${failLine('module load failed (see the message above)')}`
    );
    python = env.python ?? python;
  } else if ('container' in env) {
    exec = containerExec(env.container, options.gpu === true);
    runtime = runtimeCommand(env.container);
    python = env.container.python ?? python;
  } else {
    python = env.python;
  }
  for (const [i, line] of (env?.setup ?? []).entries()) {
    assertOneLine(`env.setup[${i}]`, line);
    lines.push(line);
  }
  // Checked after setup, which may be what brings them in (`module load apptainer`).
  lines.push(runtime !== undefined ? requireCommand(runtime, 'container runtime') : requireCommand(python, 'python'));
  // A quoted value with a newline is valid shell, but the script must stay one command per line.
  for (const line of lines) assertOneLine('an environment value', line);
  return { lines, exec, python: [...exec, python] };
}
