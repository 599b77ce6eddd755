import { z } from 'zod';
import {
  cpusPerTask,
  SBATCH_KEY,
  SBATCH_OWNED,
  SBATCH_VALUE,
  slurmFields,
  type SlurmStringField
} from './slurm-grammar';
import {
  exactlyOneOf,
  expecting,
  intIn,
  isPlainObject,
  LINE,
  numberAtLeast,
  record,
  strict,
  stringArray,
  TEXT,
  text,
  WORD
} from './schema-builders';

/*
 * The schema of config.json (see docs/ARCHITECTURE.md, "Config file").
 *
 * Every object is strict: a misspelt key is an error, never silently ignored, because a
 * dropped `partition` or `time` would submit a job the user did not ask for. Every schema
 * carries its own message ("expected …, got …") so the loader can print one line per
 * problem naming the field; unknown-key messages end in "(allowed: …)", which the loader
 * reuses for each key it reports.
 *
 * Defaults are not filled in here (the parsed config is what the user wrote); consumers
 * apply CONFIG_DEFAULTS.
 */

export const CONFIG_DEFAULTS = {
  /** Concurrent SSH channels per cluster: below sshd's MaxSessions default of 10. */
  maxChannels: 8,
  /** Use the agent at $SSH_AUTH_SOCK. */
  agent: true,
  /** squeue every 15 s by default, never more often than every 5 s: Slurm admins ban tools that hammer slurmctld. */
  pollIntervalSec: 15,
  pollPartitionsIntervalSec: 60,
  minPollIntervalSec: 5,
  /** The server a profile starts, and the python modules/conda envs fall back to. */
  command: ['jupyter', 'lab'] as readonly string[],
  python: 'python3'
} as const;

// ---- names ----------------------------------------------------------------------------

export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const nameSchema = text(
  'a name of letters, digits, "_", "." and "-" (starting with a letter or digit, at most 64 characters)',
  NAME_PATTERN
);

// ---- clusters -------------------------------------------------------------------------

const PROXY_HOP = /^(?:[a-z_][a-z0-9_.-]*\$?@)?(?:[A-Za-z0-9_][A-Za-z0-9_.-]*|\[[0-9A-Fa-f:.]+\])(?::(\d{1,5}))?$/i;

function isProxyJump(value: string): boolean {
  if (value === 'none') return true;
  return value.split(',').every(hop => {
    const m = PROXY_HOP.exec(hop);
    return m !== null && (m[1] === undefined || (Number(m[1]) >= 1 && Number(m[1]) <= 65535));
  });
}

const proxyJumpError = expecting('"none" or a comma-separated list of [user@]host[:port]');
const pollSchema = strict(
  {
    intervalSec: numberAtLeast(
      CONFIG_DEFAULTS.minPollIntervalSec,
      'a number of seconds, at least 5 (Slurm admins ban tools that poll slurmctld faster)'
    ).optional(),
    partitionsIntervalSec: numberAtLeast(
      CONFIG_DEFAULTS.minPollIntervalSec,
      'a number of seconds, at least 5'
    ).optional()
  },
  'an object like {"intervalSec": 15}'
);

const sshSchema = strict(
  {
    host: text('a host name, IP address or ~/.ssh/config alias (no spaces, not starting with "-")', WORD, { max: 255 }),
    port: intIn(1, 65535).optional(),
    user: text('a user name (letters, digits, "_", ".", "-")', /^[a-z_][a-z0-9_.-]*\$?$/i, { max: 64 }).optional(),
    identityFile: text('a path to a private key file', TEXT).optional(),
    knownHostsFile: text('a path to a known_hosts file', TEXT).optional(),
    proxyJump: z.string({ error: proxyJumpError }).refine(isProxyJump, { error: proxyJumpError }).optional(),
    maxChannels: intIn(1, 100, "an integer from 1 to 100 (default 8, below sshd's MaxSessions of 10)").optional(),
    keepaliveSec: intIn(0, 3600, 'a number of seconds from 0 (off) to 3600').optional(),
    agent: z.boolean({ error: expecting('true or false (use the agent at $SSH_AUTH_SOCK; default true)') }).optional()
  },
  'an object like {"host": "login.example.org", "user": "me"}'
);

/** Where `hpclab kernels discover` looks for venvs (default ~/.venvs, ~/venvs, ~/.virtualenvs, ~/envs). */
const venvRootsSchema = stringArray(
  'a list of directories holding venvs, like ["~/venvs", "/project/me/envs"]',
  text('an absolute path or one starting with "~/" (no tabs or control characters)', /^(?:\/|~\/)[^\x00-\x1f\x7f]*$/)
);

/** Where `hpclab submit` stages runs, one directory each (default ~/hpclab-runs). */
const runsDirSchema = text(
  'an absolute path or one starting with "~/", without "." or ".." parts or control characters',
  /^(?!.*(?:^|\/)\.{1,2}(?:\/|$))(?:\/|~\/)[^\x00-\x1f\x7f]*$/
);

/**
 * How the companion reaches Labs and kernels on the nodes. `relay` (default): unix sockets in
 * the job's private directory, carried by a relay step of the job (nothing listens on TCP);
 * `tcp`: ports on the node's address, which every user of the cluster can connect to.
 */
const nodeChannelsSchema = z.enum(['relay', 'tcp'], {
  error: expecting('"relay" (private unix sockets, the default) or "tcp" (ports any cluster user can reach)')
});

/**
 * Where a notebook's folder on this machine is on the cluster: a kernel for a notebook under
 * `local` starts in the same relative folder under `remote` (created if missing), and
 * `hpclab sync` copies between the two. Unmapped notebooks start in the cluster $HOME.
 */
const pathMapSchema = z
  .array(
    strict(
      {
        local: text(
          'an absolute path on this machine or one starting with "~/" (without "." or ".." parts)',
          /^(?!.*(?:^|[\\/])\.{1,2}(?:[\\/]|$))(?:\/|~\/|[A-Za-z]:[\\/])[^\x00-\x1f\x7f]*$/
        ),
        remote: runsDirSchema
      },
      'an object like {"local": "~/projects", "remote": "/scratch/me/projects"}'
    ),
    { error: expecting('a list like [{"local": "~/projects", "remote": "/scratch/me/projects"}]') }
  )
  .max(64, { error: 'at most 64 mappings' });

const localClusterSchema = strict({
  local: z.literal(true, { error: expecting('true (run Slurm commands on this machine)') }),
  poll: pollSchema.optional(),
  venvRoots: venvRootsSchema.optional(),
  runsDir: runsDirSchema.optional(),
  nodeChannels: nodeChannelsSchema.optional(),
  pathMap: pathMapSchema.optional()
});

const sshClusterSchema = strict({
  ssh: sshSchema,
  poll: pollSchema.optional(),
  venvRoots: venvRootsSchema.optional(),
  runsDir: runsDirSchema.optional(),
  nodeChannels: nodeChannelsSchema.optional(),
  pathMap: pathMapSchema.optional()
});

export const clusterSchema = exactlyOneOf({ local: localClusterSchema, ssh: sshClusterSchema }, 'a cluster');

// ---- environments ---------------------------------------------------------------------

// Absolute, on one line, and without "." or ".." segments: the path says where it goes.
const ABSOLUTE_PATH = String.raw`(?!.*(?:^|\/)\.{1,2}(?:\/|$))\/[^\x00-\x1f\x7f]*`;
// A command or conda env name; "." and ".." would be a directory itself or its parent.
const PLAIN_NAME = String.raw`(?!\.{1,2}$)[A-Za-z0-9_.+][A-Za-z0-9_.+-]*`;
const ABSOLUTE = new RegExp(`^${ABSOLUTE_PATH}$`);
const ABSOLUTE_OR_NAME = new RegExp(`^(?:${ABSOLUTE_PATH}|${PLAIN_NAME})$`);
const pythonSchema = text(
  'an absolute path (without "." or ".." parts) or a command name such as python3',
  ABSOLUTE_OR_NAME
);
const setupSchema = stringArray(
  'an array of shell lines to run before the server starts',
  text('one line of shell (no NUL, CR or newline)', LINE)
).optional();

export const envSchema = exactlyOneOf(
  {
    python: strict({ python: pythonSchema, setup: setupSchema }),
    conda: strict({
      conda: text('a conda env name or an absolute prefix path (without "." or ".." parts)', ABSOLUTE_OR_NAME),
      python: pythonSchema.optional(),
      setup: setupSchema
    }),
    venv: strict({
      venv: text(
        'an absolute path on the cluster (starting with "/", without "." or ".." parts; "~" is not expanded)',
        ABSOLUTE
      ),
      setup: setupSchema
    }),
    modules: strict({
      modules: stringArray(
        'a non-empty array of module names such as "cuda/12.2"',
        text('a module name such as "python/3.11"', /^[A-Za-z0-9_.+/@:][A-Za-z0-9_.+/@:-]*$/),
        1
      ),
      python: pythonSchema.optional(),
      setup: setupSchema
    }),
    container: strict({
      container: strict(
        {
          runtime: z.enum(['apptainer', 'singularity', 'charliecloud'], {
            error: expecting('one of apptainer, singularity, charliecloud')
          }),
          image: text('an image path or URI such as docker://python:3.12', TEXT),
          python: pythonSchema.optional(),
          bind: stringArray(
            'an array of bind specs src[:dest[:opts]]',
            text('a bind spec src[:dest[:opts]]', TEXT)
          ).optional()
        },
        'an object like {"runtime": "apptainer", "image": "/path/image.sif"}'
      ),
      setup: setupSchema
    })
  },
  'an environment'
);

// ---- profiles -------------------------------------------------------------------------

// The Slurm fields share their grammar with scheduler/validate.ts (slurm-grammar.ts): a typo
// is caught when the config is read, and a profile that loads is a profile that submits.
function slurmField(grammar: SlurmStringField) {
  const error = expecting(grammar.expected);
  return z.string({ error }).refine(grammar.test, { error });
}

const sbatchKeySchema = text('an sbatch long option name such as "mail-type" (lower case, without "--")', SBATCH_KEY, {
  max: 64
}).refine(key => !Object.hasOwn(SBATCH_OWNED, key), {
  error: issue => `"--${String(issue.input)}" cannot be set here: ${SBATCH_OWNED[String(issue.input)]}`
});

/**
 * A directory on the node's own storage: absolute, or starting with a variable the job has
 * (`$TMPDIR/work`, `/scratch/$USER/work`, `${SLURM_TMPDIR}/w`). Variables are `$NAME` or
 * `${NAME}` only, expanded on the node one by one (workspace/paths.ts), never by a shell.
 */
const NODE_DIR =
  /^(?!.*(?:^|\/)\.{1,2}(?:\/|$))(?:\/|\$[A-Za-z_][A-Za-z0-9_]*(?:\/|$)|\$\{[A-Za-z_][A-Za-z0-9_]*\}(?:\/|$))(?:[^\x00-\x1f\x7f$]|\$[A-Za-z_][A-Za-z0-9_]*|\$\{[A-Za-z_][A-Za-z0-9_]*\})*$/;

/** A scratch workspace on the node, restored at the start and backed up to shared storage. */
const workspaceSchema = strict(
  {
    dir: text(
      'a directory on the node: absolute or starting with a variable, like "$TMPDIR/work" or "/scratch/$USER/work" (no "." or ".." parts)',
      NODE_DIR,
      { max: 1024 }
    ),
    backupDir: text(
      'a directory on shared storage: absolute or starting with "~/", like "~/hpclab-backups/work" (no "." or ".." parts)',
      /^(?!.*(?:^|\/)\.{1,2}(?:\/|$))(?:\/|~\/)[^\x00-\x1f\x7f]*$/,
      { max: 1024 }
    ),
    compressor: z
      .enum(['zstd', 'lz4', 'none'], { error: expecting('"zstd" (default), "lz4" or "none" (plain tar)') })
      .optional(),
    level: intIn(1, 19, 'a compression level from 1 (fastest, the default) to 19 (zstd) or 12 (lz4)').optional(),
    autoBackupMinutes: intIn(0, 1440, 'a number of minutes from 0 (only on demand) to 1440 (default 30)').optional(),
    keep: intIn(1, 100, 'how many backups to keep, from 1 to 100 (default 3)').optional()
  },
  'an object like {"dir": "$TMPDIR/work", "backupDir": "~/hpclab-backups/work"}'
);

export const profileSchema = strict(
  {
    cluster: nameSchema,
    partition: slurmField(slurmFields.partition).optional(),
    gres: slurmField(slurmFields.gres).optional(),
    time: slurmField(slurmFields.time).optional(),
    cpus: intIn(cpusPerTask.min, cpusPerTask.max, cpusPerTask.expected).optional(),
    mem: slurmField(slurmFields.mem).optional(),
    account: slurmField(slurmFields.account).optional(),
    qos: slurmField(slurmFields.qos).optional(),
    constraint: slurmField(slurmFields.constraint).optional(),
    nodelist: slurmField(slurmFields.nodelist).optional(),
    sbatch: record(
      sbatchKeySchema,
      text('an option value on one line (no control characters, at most 1024), or "" for a flag', SBATCH_VALUE),
      'an object of extra sbatch options like {"mail-type": "END"}'
    ).optional(),
    env: envSchema.optional(),
    // Long enough for a laptop's nap or a login node's reboot; a kernel the companion stops
    // wanting (Jupyter shut it down, its launcher exited) is released at once regardless.
    kernelHoldMinutes: intIn(1, 1440, 'a number of minutes from 1 to 1440 (default 10)').optional(),
    // How many of the profile's kernels share one allocation, and each one's share of it.
    kernels: strict(
      {
        perAllocation: intIn(1, 64, 'an integer from 1 to 64 (default 1: an allocation per kernel)').optional(),
        cpus: intIn(cpusPerTask.min, cpusPerTask.max, cpusPerTask.expected).optional(),
        mem: slurmField(slurmFields.mem).optional(),
        gpus: intIn(0, 64, 'a number of GPUs from 0 to 64 (each kernel sees only its own)').optional()
      },
      'an object like {"perAllocation": 2, "gpus": 1}'
    ).optional(),
    // Idle kernels and Labs are released after this long without activity (0: never).
    idleMinutes: intIn(
      0,
      10080,
      'a number of minutes from 0 (never) to 10080 (default 60 with GPUs, else 0)'
    ).optional(),
    workspace: workspaceSchema.optional(),
    // Remote kernels save their variables (dill) at the first walltime warning, for "Continue".
    checkpoint: z
      .boolean({ error: expecting('true or false (save kernel variables at the walltime warning)') })
      .optional(),
    command: stringArray(
      'the argv of the server to start, such as ["jupyter", "lab"]',
      text('one argument (no NUL, CR or newline)', /^[^\x00\r\n]+$/),
      1
    ).optional()
  },
  'an object like {"cluster": "mycluster", "partition": "gpu"}'
);

// ---- the whole file -------------------------------------------------------------------

function known(names: string[]): string {
  return names.length === 0 ? 'none defined' : names.join(', ');
}

export const configSchema = strict(
  {
    clusters: record(nameSchema, clusterSchema, 'an object of clusters by name'),
    profiles: record(nameSchema, profileSchema, 'an object of profiles by name').optional(),
    defaults: strict(
      { cluster: nameSchema.optional(), profile: nameSchema.optional() },
      'an object like {"cluster": "mycluster"}'
    ).optional()
  },
  'a JSON object like {"clusters": {…}, "profiles": {…}}'
).superRefine(
  (config, ctx) => {
    // Runs even when other fields failed, so a bad port and a dangling reference are both reported.
    const clusters = isPlainObject(config.clusters) ? Object.keys(config.clusters) : undefined;
    const profiles = isPlainObject(config.profiles) ? Object.keys(config.profiles) : [];
    const refersTo = (value: unknown, names: string[] | undefined, path: (string | number)[], what: string) => {
      if (names && typeof value === 'string' && !names.includes(value))
        ctx.addIssue({
          code: 'custom',
          path,
          message: `unknown ${what} ${JSON.stringify(value)} (known ${what}s: ${known(names)})`
        });
    };
    for (const name of profiles) {
      const profile = (config.profiles as Record<string, unknown>)[name];
      if (isPlainObject(profile)) refersTo(profile.cluster, clusters, ['profiles', name, 'cluster'], 'cluster');
    }
    if (isPlainObject(config.defaults)) {
      refersTo(config.defaults.cluster, clusters, ['defaults', 'cluster'], 'cluster');
      refersTo(config.defaults.profile, profiles, ['defaults', 'profile'], 'profile');
    }
  },
  { when: payload => isPlainObject(payload.value) }
);

export type HpclabConfig = z.output<typeof configSchema>;
export type ClusterConfig = z.output<typeof clusterSchema>;
export type SshClusterConfig = Extract<ClusterConfig, { ssh: unknown }>;
export type LocalClusterConfig = Extract<ClusterConfig, { local: true }>;
export type SshConfig = SshClusterConfig['ssh'];
export type PollConfig = NonNullable<ClusterConfig['poll']>;
export type ProfileConfig = z.output<typeof profileSchema>;
export type EnvConfig = z.output<typeof envSchema>;
export type WorkspaceConfig = z.output<typeof workspaceSchema>;
