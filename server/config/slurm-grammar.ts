/*
 * Slurm's grammar for the job fields a profile sets and sbatch receives (sbatch(1), Slurm 22.05).
 *
 * One copy serves both checks: config/schema.ts when config.json is read, and
 * scheduler/validate.ts before sbatch runs, so a profile that loads is a profile that submits.
 * It lives in config/ because config is the bottom layer (docs/ARCHITECTURE.md, "Layers":
 * imports point down), and it holds plain predicates and descriptions rather than zod schemas
 * because each caller words its messages its own way (config names the path, validate names
 * the option).
 *
 * Values go to sbatch as one argv word each (`--time=value`), so what is refused is what Slurm
 * would refuse or misread; none of these patterns admits whitespace or control characters.
 */

/** A string field: `test` is Slurm's grammar, `expected` completes "expected …, got …". */
export interface SlurmStringField {
  readonly expected: string;
  readonly test: (value: string) => boolean;
}

/** A whole-number field and its bounds. */
export interface SlurmIntField {
  readonly expected: string;
  readonly min: number;
  readonly max: number;
}

/** Longer than any real value; bounds the work the patterns below do. */
const MAX_LENGTH = 4096;

function field(expected: string, test: (value: string) => boolean): SlurmStringField {
  return { expected, test: value => value.length > 0 && value.length <= MAX_LENGTH && test(value) };
}

const pattern = (re: RegExp) => (value: string) => re.test(value);

// Partition, account and QOS names: a leading '-' or '.' is far likelier a mistyped option
// or path than a real name, so it is refused.
const NAME = '[A-Za-z0-9_][A-Za-z0-9_.-]*';

// --time: minutes, minutes:seconds, hours:minutes:seconds, days-hours, days-hours:minutes,
// days-hours:minutes:seconds, or UNLIMITED / INFINITE (any case). Slurm does not bound the
// digits of each part ("90:00" is 90 minutes, "0:90:00" the same); slurm/time.ts reads them all.
const TIME = /^(?:\d+|\d+:\d+|\d+:\d+:\d+|\d+-\d+|\d+-\d+:\d+|\d+-\d+:\d+:\d+|UNLIMITED|INFINITE)$/i;

// --mem: a whole number of megabytes, or with a K, M, G or T suffix in either case ("4g").
const MEMORY = /^\d+[KMGT]?$/i;

// --gres: name[:type][:count], comma separated ("gpu:1", "gpu:a100:2,shard:1"). A lone `:2` is
// read as the type part (which takes digits too) and `:count` only follows a type: with two
// ways to read each `name:2`, a list of them made the regex backtrack exponentially (a few
// hundred characters held the event loop for minutes).
const GRES_ITEM = '[A-Za-z][A-Za-z0-9_-]*(?::[A-Za-z0-9_.-]+(?::\\d+)?)?';
const GRES = new RegExp(`^${GRES_ITEM}(?:,${GRES_ITEM})*$`);

// --nodelist: host names with bracketed ranges (`c[1-4]`, `r[1-2]n[01-04,07]`), comma separated.
const HOST = '[A-Za-z0-9_.-]*(?:\\[\\d+(?:-\\d+)?(?:,\\d+(?:-\\d+)?)*\\][A-Za-z0-9_.-]*)*';
const NODELIST = new RegExp(`^(?=[A-Za-z0-9_])${HOST}(?:,(?=[A-Za-z0-9_])${HOST})*$`);

/** --constraint: features joined by & | , with (), [] and counts `*N`, brackets balanced. */
function isConstraint(value: string): boolean {
  if (!/^[A-Za-z0-9_.\-&|,()[\]*]+$/.test(value)) return false;
  if (/\*(?!\d)/.test(value)) return false; // `*` always takes a count
  const stack: string[] = [];
  for (const ch of value) {
    if (ch === '(' || ch === '[') stack.push(ch);
    else if (ch === ')' && stack.pop() !== '(') return false;
    else if (ch === ']' && stack.pop() !== '[') return false;
  }
  return stack.length === 0 && !/^[&|,]|[&|,]$|[&|,]{2}/.test(value);
}

/** The string job fields a profile can set; the keys are shared by ProfileConfig and SubmitOptions. */
export const slurmFields = {
  partition: field(
    'a Slurm partition name (letters, digits, _ . -) or a comma-separated list of them',
    pattern(new RegExp(`^${NAME}(?:,${NAME})*$`))
  ),
  account: field(
    'a Slurm account name (letters, digits, _ . -, not starting with . or -)',
    pattern(new RegExp(`^${NAME}$`))
  ),
  qos: field('a Slurm QOS name (letters, digits, _ . -, not starting with . or -)', pattern(new RegExp(`^${NAME}$`))),
  time: field(
    'a Slurm time limit (minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS, UNLIMITED or INFINITE)',
    pattern(TIME)
  ),
  mem: field('a memory size such as 4096, 500M or 16G (a whole number with an optional K, M, G or T)', pattern(MEMORY)),
  gres: field('a Slurm GRES list name[:type][:count] such as gpu:1 or gpu:a100:2 (comma-separated)', pattern(GRES)),
  constraint: field(
    'a Slurm constraint: features joined by &, | or , with optional (), [] and *count, such as a100&ib',
    isConstraint
  ),
  nodelist: field('a Slurm node list: names or ranges such as c[1-4],gpu01', pattern(NODELIST))
} as const satisfies Record<string, SlurmStringField>;

/** --cpus-per-task (a profile's `cpus`). */
export const cpusPerTask: SlurmIntField = { expected: 'a whole number of CPUs from 1 to 10000', min: 1, max: 10_000 };

/**
 * sbatch options a profile's free-form `sbatch` map may not set, and why: hpclab sets them
 * itself (the name and comment carry the session id, the log goes to the session dir, a
 * session is one job that is not requeued), or a profile field does.
 */
export const SBATCH_OWNED: Readonly<Record<string, string>> = {
  'job-name': 'hpclab names the job after the session',
  comment: 'hpclab stores the session id there',
  wrap: 'hpclab renders the job script',
  output: "hpclab writes the job's output to the session's log",
  error: "hpclab writes the job's output to the session's log",
  chdir: 'hpclab starts the job in your home directory',
  requeue: 'hpclab ends a session whose node failed rather than restart it empty',
  'no-requeue': 'hpclab sets it',
  parsable: 'hpclab reads the job id from it',
  array: 'a session is one job',
  hold: 'hpclab submits the job to run',
  wait: 'hpclab follows the job itself',
  'test-only': 'use the preview instead',
  'cpus-per-task': 'use the profile\'s "cpus"',
  ...Object.fromEntries(
    ['partition', 'time', 'gres', 'mem', 'account', 'qos', 'constraint', 'nodelist'].map(k => [
      k,
      `use the profile's "${k}"`
    ])
  )
};

/** An sbatch long option name as a profile writes it: `mail-type`, `exclusive`. */
export const SBATCH_KEY = /^[a-z][a-z-]{0,63}$/;
/** Its value: one line, no control characters; empty for a flag such as `exclusive`. */
export const SBATCH_VALUE = /^[^\x00-\x1f\x7f]{0,1024}$/;
