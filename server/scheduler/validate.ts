import { z } from 'zod';
import {
  cpusPerTask,
  SBATCH_KEY,
  SBATCH_OWNED,
  SBATCH_VALUE,
  slurmFields,
  type SlurmStringField
} from '../config/slurm-grammar';
import { SchedulerError } from './errors';
import type { SubmitOptions } from './types';

/*
 * User-facing job fields checked against Slurm's own grammar before anything runs. Values go
 * to sbatch as one argv word each (`--flag=value`), so quotes or `$(…)` in a job name are just
 * characters; what is refused is what Slurm would refuse or misread anyway, and control
 * characters, which would break squeue's record format (see slurm/argv.ts) and log lines.
 * The fields a profile can also set take their grammar from config/slurm-grammar.ts, which
 * config.json is checked against too, so a profile that loads is a profile that submits.
 */

const CONTROL = /[\x00-\x1f\x7f]/;

function show(input: unknown): string {
  if (typeof input !== 'string')
    return input === undefined ? 'nothing' : `${typeof input} ${JSON.stringify(input) ?? String(input)}`;
  const quoted = JSON.stringify(input);
  return quoted.length > 80 ? `${quoted.slice(0, 79)}…"` : quoted;
}

/** A string field whose every error names the field and says what is expected. */
function text(field: string, expected: string, test: (value: string) => boolean) {
  const error = (issue: { input?: unknown }) => `${field}: expected ${expected}, got ${show(issue.input)}`;
  return z.string({ error }).refine(test, { error });
}

/** A field whose grammar config/slurm-grammar.ts holds. */
function slurm(field: string, grammar: SlurmStringField) {
  return text(field, grammar.expected, grammar.test);
}

function int(field: string, min: number, max: number, expected = `a whole number from ${min} to ${max}`) {
  const error = (issue: { input?: unknown }) => `${field}: expected ${expected}, got ${show(issue.input)}`;
  return z.number({ error }).int({ error }).min(min, { error }).max(max, { error });
}

const ARRAY_ITEM = '\\d+(-\\d+(:\\d+)?)?';
const ARRAY = new RegExp(`^${ARRAY_ITEM}(,${ARRAY_ITEM})*(%\\d+)?$`);
const MAIL_TYPES = new Set([
  'NONE',
  'BEGIN',
  'END',
  'FAIL',
  'REQUEUE',
  'ALL',
  'INVALID_DEPEND',
  'STAGE_OUT',
  'TIME_LIMIT',
  'TIME_LIMIT_90',
  'TIME_LIMIT_80',
  'TIME_LIMIT_50',
  'ARRAY_TASKS'
]);
const MAIL_USER = /^[A-Za-z0-9._%+-]+(@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*)?$/;

/** A path Slurm may expand patterns in (`%x.%j.out`); relative paths are below --chdir. */
const isPath = (value: string) => value.length > 0 && value.length <= 4096 && !CONTROL.test(value);

const fields = {
  jobName: text(
    'jobName',
    '1 to 200 characters without control characters or newlines',
    v => v.length > 0 && v.length <= 200 && !CONTROL.test(v)
  ),
  partition: slurm('partition', slurmFields.partition),
  account: slurm('account', slurmFields.account),
  qos: slurm('qos', slurmFields.qos),
  time: slurm('time', slurmFields.time),
  cpusPerTask: int('cpusPerTask', cpusPerTask.min, cpusPerTask.max, cpusPerTask.expected),
  mem: slurm('mem', slurmFields.mem),
  gres: slurm('gres', slurmFields.gres),
  constraint: slurm('constraint', slurmFields.constraint),
  nodelist: slurm('nodelist', slurmFields.nodelist),
  nodes: int('nodes', 1, 100_000),
  array: text('array', 'indexes such as 1-8, 1,3,5, 0-15:4 or 1-8%2', v => ARRAY.test(v)),
  comment: text(
    'comment',
    'up to 1000 characters without control characters or newlines',
    v => v.length <= 1000 && !CONTROL.test(v)
  ),
  output: text('output', 'a file path (patterns like %x.%j allowed) without control characters', isPath),
  error: text('error', 'a file path (patterns like %x.%j allowed) without control characters', isPath),
  chdir: text('chdir', 'an absolute directory path starting with /', v => v.startsWith('/') && isPath(v)),
  mailType: text('mailType', `a comma list of ${[...MAIL_TYPES].join(', ')}`, v =>
    v.split(',').every(t => MAIL_TYPES.has(t.toUpperCase()))
  ),
  mailUser: text('mailUser', 'an email address or user name', v => v.length <= 254 && MAIL_USER.test(v)),
  hold: z.boolean({ error: issue => `hold: expected true or false, got ${show(issue.input)}` }),
  noRequeue: z.boolean({ error: issue => `noRequeue: expected true or false, got ${show(issue.input)}` }),
  // The keys are checked on the raw object first: zod's record drops a JSON `__proto__` key
  // (an own property after JSON.parse) from its output instead of refusing it. A transform, so
  // the API's JSON Schema (docs/openapi.json) still describes the record after it.
  sbatch: z
    .transform((value: unknown, ctx) => {
      const bad =
        typeof value === 'object' && value !== null ? Object.keys(value).find(k => !SBATCH_KEY.test(k)) : undefined;
      if (bad === undefined) return value;
      ctx.issues.push({
        code: 'custom',
        message: `sbatch: expected an option name such as "mail-type", got ${show(bad)}`,
        input: value
      });
      return z.NEVER;
    })
    .pipe(
      z
        .record(z.string(), z.string(), {
          error: issue => `sbatch: expected an object of option names and values, got ${show(issue.input)}`
        })
        .superRefine((options, ctx) => {
          for (const [key, value] of Object.entries(options)) {
            if (!SBATCH_KEY.test(key))
              ctx.addIssue({
                code: 'custom',
                message: `sbatch: expected an option name such as "mail-type", got ${show(key)}`
              });
            else if (Object.hasOwn(SBATCH_OWNED, key))
              ctx.addIssue({ code: 'custom', message: `sbatch: "--${key}" cannot be set here: ${SBATCH_OWNED[key]}` });
            else if (!SBATCH_VALUE.test(value))
              ctx.addIssue({
                code: 'custom',
                message: `sbatch.${key}: expected one line without control characters, got ${show(value)}`
              });
          }
        })
    )
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

/** Ids hpclab acts on: a job (`1234`) or one array task (`1234_5`); Slurm's are 32-bit, so at most 10 digits each. */
export const jobIdSchema = z
  .string({ error: issue => `job id: expected a Slurm job id such as 1234 or 1234_5, got ${show(issue.input)}` })
  .regex(/^\d{1,10}(_\d{1,10})?$/, {
    error: issue => `job id: expected a Slurm job id such as 1234 or 1234_5, got ${show(issue.input)}`
  });

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

const SINCE_SPAN = /^(\d{1,6})([smhdw])$/;
const SINCE_DATE = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}))?)?$/;

/** A span back from now (`7d`, `12h`, `30m`, `90s`, `2w`) as its count and unit letter, or null. */
export function sinceSpan(since: string): { count: number; unit: 's' | 'm' | 'h' | 'd' | 'w' } | null {
  const span = SINCE_SPAN.exec(since);
  if (!span || Number(span[1]) === 0) return null;
  return { count: Number(span[1]), unit: span[2] as 's' | 'm' | 'h' | 'd' | 'w' };
}

function isCalendarDate(since: string): boolean {
  const m = SINCE_DATE.exec(since);
  if (!m) return false;
  const [year, month, day, hour, minute, second] = m.slice(1).map(v => (v === undefined ? 0 : Number(v)));
  const d = new Date(year, month - 1, day);
  return d.getMonth() === month - 1 && d.getDate() === day && hour < 24 && minute < 60 && second < 60;
}

const sinceError = (input: unknown) =>
  'since: expected a span back from now such as 7d, 12h, 30m or 2w, or a date such as 2026-11-20 or ' +
  `2026-11-20T08:00; got ${show(input)}`;

/** How far back a job history goes: a span (`7d`) or a date with an optional time (the cluster's local time). */
export const historySinceSchema = z
  .string({ error: issue => sinceError(issue.input) })
  .refine(since => sinceSpan(since) !== null || isCalendarDate(since), { error: issue => sinceError(issue.input) });

/** A checked `since`, or SchedulerError('invalid-request') naming it. */
export function checkSince(value: unknown): string {
  const result = historySinceSchema.safeParse(value);
  if (!result.success) throw new SchedulerError('invalid-request', describeIssues(result.error));
  return result.data;
}
