import type { Request } from 'express';
import { z } from 'zod';
import { envSchema, NAME_PATTERN } from '../config/schema';
import { expecting, strict } from '../config/schema-builders';
import { cpusPerTask, slurmFields, type SlurmStringField } from '../config/slurm-grammar';
import { RUN_ID } from '../runs/registry';
import { historySinceSchema, jobIdSchema, submitOptionsSchema } from '../scheduler/validate';
import { invalid, invalidField } from './errors';
import type * as wire from '../../src/contract';
import { REQUIREMENTS_MAX } from '../envs/env-input';
import { remoteKernelSpecSchema } from '../kernels/remote-kernel';
import type {
  AddKernelRequest,
  CreateEnvRequest,
  CreateSessionRequest,
  KernelAttachRequest,
  SessionOverrides
} from './services';

/*
 * What requests may hold. Handlers read only the output of these schemas. Every message says
 * what was expected and what came; errors.ts puts the field's path in front. Each body schema
 * also `satisfies` the body type of the contract (src/contract), which the extension sends.
 */

export const SESSION_ID_PATTERN = /^[a-z0-9]{6,32}$/;
export const TAIL_DEFAULT_BYTES = 64 * 1024;
export const TAIL_MAX_BYTES = 1024 * 1024;
/** Request bodies larger than this are refused with 413 before they are parsed. */
export const BODY_LIMIT = '64kb';

function pattern(what: string, re: RegExp) {
  const error = expecting(what);
  return z.string({ error }).regex(re, { error });
}

function slurm(grammar: SlurmStringField) {
  const error = expecting(grammar.expected);
  return z.string({ error }).refine(grammar.test, { error });
}

export const sessionIdSchema = pattern('a session id of 6 to 32 lower-case letters and digits', SESSION_ID_PATTERN);
export const nameSchema = pattern(
  'a name of letters, digits, "_", "." and "-" (starting with a letter or digit, at most 64 characters)',
  NAME_PATTERN
);
export const idempotencyKeySchema = pattern(
  '1 to 200 printable ASCII characters without spaces',
  /^[\x21-\x7e]{1,200}$/
);

const cpusError = expecting(cpusPerTask.expected);

export const overridesSchema = strict(
  {
    partition: slurm(slurmFields.partition).optional(),
    time: slurm(slurmFields.time).optional(),
    cpus: z
      .int({ error: cpusError })
      .min(cpusPerTask.min, { error: cpusError })
      .max(cpusPerTask.max, { error: cpusError })
      .optional(),
    mem: slurm(slurmFields.mem).optional(),
    gres: slurm(slurmFields.gres).optional(),
    account: slurm(slurmFields.account).optional(),
    qos: slurm(slurmFields.qos).optional(),
    constraint: slurm(slurmFields.constraint).optional(),
    nodelist: slurm(slurmFields.nodelist).optional(),
    // Checked as every submit's options are (scheduler/validate.ts): mail events and address,
    // and more sbatch options, none of those hpclab sets itself.
    mailType: submitOptionsSchema.shape.mailType,
    mailUser: submitOptionsSchema.shape.mailUser,
    sbatch: submitOptionsSchema.shape.sbatch
  },
  'an object of profile values to override, like {"time": "02:00:00"}'
) satisfies z.ZodType<SessionOverrides & wire.SessionOverrides>;

export const createSessionSchema = strict(
  {
    kind: z.enum(['lab', 'alloc'], { error: expecting('"lab" (JupyterLab on a node) or "alloc" (hold a node)') }),
    profile: nameSchema,
    cluster: nameSchema.optional(),
    overrides: overridesSchema.optional(),
    idempotencyKey: idempotencyKeySchema.optional()
  },
  'a JSON object like {"kind": "lab", "profile": "gpu"}'
) satisfies z.ZodType<CreateSessionRequest & wire.CreateSessionBody>;

/** `POST /api/sessions/:id/extend`. */
const minutesError = expecting('a whole number of minutes from 1 to 10080 (a week)');
export const extendSchema = strict(
  { minutes: z.int({ error: minutesError }).min(1, { error: minutesError }).max(10080, { error: minutesError }) },
  'a JSON object like {"minutes": 60}'
);

/** `POST /api/sessions/:id/workspace/restore`: a backup's name, or "newest" (said, not implied by an empty body). */
export const restoreSchema = strict(
  {
    name: z.union(
      [
        z.literal('newest'),
        pattern(
          '"newest" or a backup name like workspace-20261206T081500Z.tar.zst',
          /^workspace-\d{8}T\d{6}Z\.tar(?:\.zst|\.lz4)?$/
        )
      ],
      { error: expecting('"newest" or a backup name like workspace-20261206T081500Z.tar.zst') }
    )
  },
  'a JSON object like {"name": "newest"} or {"name": "workspace-20261206T081500Z.tar.zst"}'
);

/** `?partition=` of the nodes route. */
export const partitionQuery = nameSchema.optional();

/** A launcher asking for its kernel. The key only ever travels in this body, over the 0700 socket or loopback. */
export const attachKernelSchema = strict(
  {
    kernelId: sessionIdSchema,
    profile: nameSchema,
    cluster: nameSchema.optional(),
    env: envSchema.optional(),
    key: pattern('the kernel key: 1 to 512 printable ASCII characters', /^[\x21-\x7e]{1,512}$/),
    signatureScheme: pattern('hmac-<hash>, like "hmac-sha256"', /^hmac-[a-z0-9]{1,16}$/),
    // Where the notebook is on the launcher's machine: the cluster's pathMap says where that is there.
    notebookDir: pattern(
      "an absolute path on one line (the notebook's folder), at most 4096 characters",
      /^(?:\/|[A-Za-z]:[\\/])[^\x00-\x1f\x7f]{0,4095}$/
    ).optional(),
    kernel: remoteKernelSpecSchema.optional()
  },
  'a JSON object like {"kernelId": "k0123456789abcdef", "profile": "gpu", "key": "…", "signatureScheme": "hmac-sha256"}'
) satisfies z.ZodType<KernelAttachRequest>;

export const kernelNameSchema = pattern(
  'a kernel name of lower-case letters, digits, ".", "_" and "-" (starting with a letter or digit, at most 64)',
  /^[a-z0-9][a-z0-9._-]{0,63}$/
);

export const addKernelSchema = strict(
  {
    profile: nameSchema,
    cluster: nameSchema.optional(),
    env: envSchema.optional(),
    name: kernelNameSchema.optional(),
    displayName: pattern('1 to 200 characters on one line', /^[^\x00-\x1f\x7f]{1,200}$/).optional()
  },
  'a JSON object like {"profile": "gpu"} or {"profile": "gpu", "env": {"venv": "/home/me/venv"}}'
) satisfies z.ZodType<AddKernelRequest & wire.AddKernelBody>;

/** An env's words are checked by the env planner (envs/env-input.ts), which names the field and the fix. */
const envWord = (what: string) => pattern(`${what}: 1 to 4096 characters on one line`, /^[^\x00-\x1f\x7f]{1,4096}$/);
const flag = (what: string) => z.boolean({ error: expecting(`true or false (${what})`) });

export const createEnvSchema = strict(
  {
    cluster: nameSchema.optional(),
    name: z.string({ error: expecting("the env's name") }).max(200, { error: expecting('at most 64 characters') }),
    profile: nameSchema.optional(),
    python: envWord('an absolute path or a command name such as python3').optional(),
    module: envWord('a module name such as python/3.11').optional(),
    requirements: z
      .string({ error: expecting('the text of a requirements file') })
      .max(REQUIREMENTS_MAX, { error: `expected at most ${REQUIREMENTS_MAX / 1024} KiB of requirements` })
      .optional(),
    conda: flag('make a conda env').optional(),
    systemSitePackages: flag("let the venv see the python's own packages").optional(),
    path: envWord('an absolute path or one starting with "~/"').optional()
  },
  'a JSON object like {"name": "analysis", "cluster": "mycluster", "requirements": "numpy\\n"}'
) satisfies z.ZodType<CreateEnvRequest & wire.CreateEnvBody>;

/** `refresh=1` asks the cluster again instead of answering from the cache. */
export const refreshSchema = z
  .enum(['0', '1', 'true', 'false'], { error: expecting('1 or 0') })
  .transform(v => v === '1' || v === 'true');

export const tailSchema = z
  .string({ error: expecting(`a number of bytes from 0 to ${TAIL_MAX_BYTES}`) })
  .regex(/^\d{1,8}$/, { error: expecting(`a number of bytes from 0 to ${TAIL_MAX_BYTES}`) })
  .transform(Number)
  .pipe(
    z.number().max(TAIL_MAX_BYTES, {
      error: issue => `expected at most ${TAIL_MAX_BYTES} bytes (1 MiB), got ${String(issue.input)}`
    })
  );

/** `follow=1` (or `true`) streams new log output; `0`/`false` or absent does not. */
export const followSchema = z
  .enum(['0', '1', 'true', 'false'], { error: expecting('1 or 0') })
  .transform(v => v === '1' || v === 'true');

/** Route params and their schemas; a route may only use params listed here. */
export const promptIdSchema = pattern('a prompt id of 16 hex digits', /^[0-9a-f]{16}$/);

/** Answers to a login prompt: one string per question, in order. */
export const promptAnswersSchema = strict(
  {
    answers: z
      .array(z.string({ error: expecting('a string') }).max(1024, { error: 'expected at most 1024 characters' }), {
        error: expecting('a list of answers, one per question')
      })
      .max(16)
  },
  'a JSON object like {"answers": ["123456"]}'
);

/** An ~/.ssh/config alias or a host name: one word, not an option (the config schema checks the rest). */
const sshHostSchema = pattern(
  'an ~/.ssh/config alias or host name (no spaces, not starting with "-")',
  /^[^\s\x00-\x1f\x7f-][^\s\x00-\x1f\x7f]{0,254}$/
);
/**
 * zod's record passes an own `__proto__` key (JSON.parse makes one) by without checking it, and
 * what it copies would get that object as its prototype: the keys are checked on the parsed
 * JSON itself, before anything is copied.
 */
function keysChecked<T extends z.ZodType>(key: RegExp, what: string, record: T) {
  return z.preprocess((value, ctx) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
    for (const k of Object.keys(value))
      if (!key.test(k)) ctx.addIssue({ code: 'custom', path: [k], input: value, message: `expected ${what}` });
    return value;
  }, record);
}

// The setup service checks each field as config.json is checked; here only that the keys are
// profile fields (camelCase words).
const profileObject = keysChecked(
  /^[A-Za-z][A-Za-z0-9]{0,63}$/,
  'a profile field such as "partition" or "gres"',
  z.record(z.string(), z.unknown(), {
    error: expecting('a profile object like {"cluster": "c", "partition": "debug"}')
  })
);

export const discoverSchema = strict(
  { host: sshHostSchema, cluster: nameSchema.optional() },
  'a JSON object like {"host": "mycluster"}'
) satisfies z.ZodType<wire.DiscoverBody>;

export const saveSetupSchema = strict(
  {
    host: sshHostSchema,
    cluster: nameSchema,
    profiles: keysChecked(
      NAME_PATTERN,
      'a profile name of letters, digits, "_", "." and "-"',
      z.record(nameSchema, profileObject, { error: expecting('an object of profiles by name') })
    )
  },
  'a JSON object like {"host": "mycluster", "cluster": "mycluster", "profiles": {"cpu": {…}}}'
) satisfies z.ZodType<wire.SaveSetupBody>;

export const putProfileSchema = strict(
  { profile: profileObject },
  'a JSON object like {"profile": {"cluster": "c", "partition": "debug"}}'
) satisfies z.ZodType<wire.PutProfileBody>;

/** A run's file and parameter words are checked by the run planner, which names the flag and the fix. */
const oneLine = (what: string, max: number) =>
  pattern(`${what}: 1 to ${max} characters on one line`, new RegExp(`^[^\\x00-\\x1f\\x7f]{1,${max}}$`));
/** A notebook or script sent to be staged: text, at most this many bytes. */
export const RUN_CONTENT_MAX = 16 * 1024 * 1024;
export const RUN_BODY_LIMIT = '24mb';

export const submitRunSchema = strict(
  {
    profile: nameSchema,
    cluster: nameSchema.optional(),
    fileName: oneLine('a file name', 200),
    content: z
      .string({ error: expecting("the file's text") })
      .max(RUN_CONTENT_MAX, { error: `expected at most ${RUN_CONTENT_MAX} characters` }),
    name: oneLine('a job name', 200).optional(),
    sbatch: z
      .array(oneLine('an sbatch option KEY=VALUE', 1000), { error: expecting('a list of KEY=VALUE') })
      .max(64)
      .optional(),
    mail: oneLine('mail types such as END,FAIL', 200).optional(),
    mailUser: oneLine('a mail address', 200).optional(),
    params: z
      .array(oneLine('NAME=V1,V2,…', 100_000), { error: expecting('a list of NAME=V1,V2,…') })
      .max(32)
      .optional(),
    array: oneLine('array indexes such as 0-9%2', 200).optional(),
    args: z
      .array(z.string({ error: expecting('a string') }).max(10_000), { error: expecting('a list of words') })
      .max(256)
      .optional()
  },
  'a JSON object like {"profile": "cpu", "fileName": "analysis.ipynb", "content": "…"}'
) satisfies z.ZodType<wire.SubmitRunBody>;

/** `train-20261205-143000-1a2b`, as `hpclab runs` lists them. */
export const runIdSchema = pattern('a run id like train-20261205-143000-1a2b', RUN_ID);
/** An output's path inside its run, as the outputs listing gives it (the service serves only those). */
export const outputPathSchema = oneLine('an output path such as out/analysis_0.ipynb', 4096);

export const paramSchemas = {
  cluster: nameSchema,
  jobId: jobIdSchema,
  id: sessionIdSchema,
  name: kernelNameSchema,
  prompt: promptIdSchema,
  profile: nameSchema,
  run: runIdSchema
} as const;
export type ParamName = keyof typeof paramSchemas;

/** `?since=` of the history route: the CLI's --since grammar. */
export const historySinceQuery = historySinceSchema;
export const HISTORY_SINCE_DEFAULT = '7d';

/** Parses a value or throws 400 naming `root` (the body, a param or a query key). */
export function parse<T>(schema: z.ZodType<T>, value: unknown, root: string): T {
  const result = schema.safeParse(value);
  if (!result.success) throw invalid(result.error, root);
  return result.data;
}

export function readParam(req: Request, name: ParamName): string {
  return parse<string>(paramSchemas[name], req.params[name], name);
}

/** One query value; a repeated key (`?tail=1&tail=2`) is refused, not guessed at. */
export function readQuery<T>(req: Request, name: string, schema: z.ZodType<T>, fallback: T): T {
  const raw = (req.query as Record<string, unknown>)[name];
  if (raw === undefined) return fallback;
  if (typeof raw !== 'string') throw invalidField(name, 'expected one value');
  return parse(schema, raw, name);
}
