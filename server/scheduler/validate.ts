import { z } from 'zod';
import { SchedulerError } from './errors';
import type { SubmitOptions } from './types';

/*
 * User-facing job fields checked against Slurm's own grammar before anything runs. Values go
 * to sbatch as one argv word each (`--flag=value`), so quotes or `$(…)` in a job name are just
 * characters; what is refused is what Slurm would refuse or misread anyway, and control
 * characters, which would break squeue's record format (see slurm/argv.ts) and log lines.
 */

const CONTROL = /[\x00-\x1f\x7f]/;

function show(input: unknown): string {
  if (typeof input !== 'string') return input === undefined ? 'nothing' : `${typeof input} ${JSON.stringify(input) ?? String(input)}`;
  const quoted = JSON.stringify(input);
  return quoted.length > 80 ? `${quoted.slice(0, 79)}…"` : quoted;
}

/** A string field whose every error names the field and says what is expected. */
function text(field: string, expected: string, test: (value: string) => boolean) {
  const error = (issue: { input?: unknown }) => `${field}: expected ${expected}, got ${show(issue.input)}`;
  return z.string({ error }).refine(test, { error });
}

function int(field: string, min: number, max: number) {
  const error = (issue: { input?: unknown }) => `${field}: expected a whole number from ${min} to ${max}, got ${show(issue.input)}`;
  return z.number({ error }).int({ error }).min(min, { error }).max(max, { error });
}

const NAME = /^[A-Za-z0-9_.-]+$/;
const NAME_LIST = /^[A-Za-z0-9_.-]+(,[A-Za-z0-9_.-]+)*$/;
// Slurm's --time forms: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS (slurm/time.ts reads them).
const TIME = /^(\d+|\d+:\d+|\d+:\d+:\d+|\d+-\d+|\d+-\d+:\d+|\d+-\d+:\d+:\d+)$/;
const MEMORY = /^\d+[KMGTkmgt]?$/;
const GRES_ITEM = '[A-Za-z][A-Za-z0-9_]*(:[A-Za-z0-9_.-]+)?(:\\d+)?';
const GRES = new RegExp(`^${GRES_ITEM}(,${GRES_ITEM})*$`);
const ARRAY_ITEM = '\\d+(-\\d+(:\\d+)?)?';
const ARRAY = new RegExp(`^${ARRAY_ITEM}(,${ARRAY_ITEM})*(%\\d+)?$`);
// Hostlist: names with bracketed ranges (`c[1-4]`, `r[1-2]n[01-04]`), comma separated.
const HOST = '[A-Za-z0-9_.-]*(\\[\\d+(-\\d+)?(,\\d+(-\\d+)?)*\\][A-Za-z0-9_.-]*)*';
const NODELIST = new RegExp(`^(?=[A-Za-z0-9_])${HOST}(,(?=[A-Za-z0-9_])${HOST})*$`);
const MAIL_TYPES = new Set([
  'NONE', 'BEGIN', 'END', 'FAIL', 'REQUEUE', 'ALL', 'INVALID_DEPEND', 'STAGE_OUT',
  'TIME_LIMIT', 'TIME_LIMIT_90', 'TIME_LIMIT_80', 'TIME_LIMIT_50', 'ARRAY_TASKS'
]);
const MAIL_USER = /^[A-Za-z0-9._%+-]+(@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*)?$/;

/** Slurm's constraint grammar: features joined by & | , with (), [] and counts `*N`. */
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

/** A path Slurm may expand patterns in (`%x.%j.out`); relative paths are below --chdir. */
const isPath = (value: string) => value.length > 0 && value.length <= 4096 && !CONTROL.test(value);

const fields = {
  jobName: text('jobName', '1 to 200 characters without control characters or newlines', v => v.length > 0 && v.length <= 200 && !CONTROL.test(v)),
  partition: text('partition', 'a partition name (letters, digits, _ . -) or a comma list of them', v => NAME_LIST.test(v)),
  account: text('account', 'an account name (letters, digits, _ . -)', v => NAME.test(v)),
  qos: text('qos', 'a QOS name (letters, digits, _ . -)', v => NAME.test(v)),
  time: text('time', 'D-HH:MM:SS, HH:MM:SS, MM:SS or minutes', v => /^(UNLIMITED|INFINITE)$/i.test(v) || TIME.test(v)),
  cpusPerTask: int('cpusPerTask', 1, 10_000),
  mem: text('mem', 'a size such as 4096, 500M or 16G', v => MEMORY.test(v)),
  gres: text('gres', 'name[:type][:count] such as gpu:1 or gpu:a100:2 (comma list allowed)', v => GRES.test(v)),
  constraint: text('constraint', 'features joined by &, | or , with optional (), [] and *count', isConstraint),
  nodelist: text('nodelist', 'node names or ranges such as c[1-4],gpu01', v => v.length <= 4096 && NODELIST.test(v)),
  nodes: int('nodes', 1, 100_000),
  array: text('array', 'indexes such as 1-8, 1,3,5, 0-15:4 or 1-8%2', v => ARRAY.test(v)),
  comment: text('comment', 'up to 1000 characters without control characters or newlines', v => v.length <= 1000 && !CONTROL.test(v)),
  output: text('output', 'a file path (patterns like %x.%j allowed) without control characters', isPath),
  error: text('error', 'a file path (patterns like %x.%j allowed) without control characters', isPath),
  chdir: text('chdir', 'an absolute directory path starting with /', v => v.startsWith('/') && isPath(v)),
  mailType: text('mailType', `a comma list of ${[...MAIL_TYPES].join(', ')}`, v => v.split(',').every(t => MAIL_TYPES.has(t.toUpperCase()))),
  mailUser: text('mailUser', 'an email address or user name', v => v.length <= 254 && MAIL_USER.test(v)),
  hold: z.boolean({ error: issue => `hold: expected true or false, got ${show(issue.input)}` })
} satisfies { [K in keyof Required<SubmitOptions>]: z.ZodType<SubmitOptions[K] & {}> };

/** sbatch options; unknown keys are refused so a typo never silently does nothing. */
export const submitOptionsSchema = z.strictObject(
  Object.fromEntries(Object.entries(fields).map(([key, schema]) => [key, schema.optional()])) as {
    [K in keyof typeof fields]: z.ZodOptional<(typeof fields)[K]>;
  },
  {
    error: issue =>
      issue.code === 'unrecognized_keys'
        ? `unknown option${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}: expected ${Object.keys(fields).join(', ')}`
        : `options: expected an object, got ${show(issue.input)}`
  }
);

/** Ids hpclab acts on: a job (`1234`) or one array task (`1234_5`). */
export const jobIdSchema = z
  .string({ error: issue => `job id: expected a Slurm job id such as 1234 or 1234_5, got ${show(issue.input)}` })
  .regex(/^\d+(_\d+)?$/, { error: issue => `job id: expected a Slurm job id such as 1234 or 1234_5, got ${show(issue.input)}` });

/** Every problem, one per line, each naming its field. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map(issue => issue.message).join('\n');
}

/** Checked options, or SchedulerError('invalid-request') listing what is wrong. */
export function checkSubmitOptions(value: unknown): SubmitOptions {
  const result = submitOptionsSchema.safeParse(value);
  if (!result.success) throw new SchedulerError('invalid-request', describeIssues(result.error));
  return result.data;
}

/** A checked job id, or SchedulerError('invalid-request'). */
export function checkJobId(value: unknown): string {
  const result = jobIdSchema.safeParse(value);
  if (!result.success) throw new SchedulerError('invalid-request', describeIssues(result.error));
  return result.data;
}
