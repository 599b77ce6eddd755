import { z } from 'zod';

/*
 * The building blocks of the config schema (schema.ts) and of the API's request schemas: each
 * carries its own "expected …, got …" message, so a bad value is reported naming its field
 * and what would be accepted, and strict objects list the keys they allow.
 */

/** How a bad value is shown in a message: strings quoted and shortened, containers by kind. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value))
    return value.length === 0 ? 'an empty array' : `an array of ${value.length} item${value.length === 1 ? '' : 's'}`;
  return typeof value === 'object' ? 'an object' : typeof value;
}

/** Error map for one field: a missing required key and a wrong value read differently. */
export function expecting(what: string) {
  return (issue: { input?: unknown }): string =>
    issue.input === undefined ? `missing: expected ${what}` : `expected ${what}, got ${describeValue(issue.input)}`;
}

// Character classes shared by the string fields below. Control characters (NUL, CR, LF, …)
// never belong in a config value; a leading '-' could be read as an option by ssh or Slurm.
export const WORD = /^[^\s\x00-\x1f\x7f-][^\s\x00-\x1f\x7f]*$/; // no whitespace
export const TEXT = /^[^\x00-\x1f\x7f-][^\x00-\x1f\x7f]*$/; // spaces allowed (paths on Windows laptops)
export const LINE = /^[^\x00\r\n]*$/; // one line of the job script

export function text(what: string, pattern: RegExp, flags?: { max?: number }) {
  const error = expecting(what);
  return z
    .string({ error })
    .max(flags?.max ?? 4096, { error })
    .regex(pattern, { error });
}

export function intIn(min: number, max: number, what = `an integer from ${min} to ${max}`) {
  const error = expecting(what);
  return z.int({ error }).min(min, { error }).max(max, { error });
}

export function numberAtLeast(min: number, what: string) {
  const error = expecting(what);
  return z.number({ error }).min(min, { error });
}

export function stringArray(what: string, item: z.ZodType<string>, min = 0) {
  const error = expecting(what);
  return z.array(item, { error }).min(min, { error });
}

/** A strict object whose unknown-key message lists the keys it allows. */
export function strict<S extends z.ZodRawShape>(shape: S, what = 'an object') {
  const allowed = Object.keys(shape).join(', ');
  const wrongType = expecting(what);
  return z.strictObject(shape, {
    error: issue =>
      issue.code === 'unrecognized_keys'
        ? `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map(k => JSON.stringify(k)).join(', ')} (allowed: ${allowed})`
        : wrongType(issue)
  });
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * z.record that refuses a "__proto__" key. zod skips that key without a word (so it cannot
 * become the result's prototype), which would drop a profile, cluster or sbatch option
 * silently; here it is a bad name like any other, reported at its path.
 */
export function record<V extends z.ZodType>(key: z.ZodType<string>, value: V, what: string) {
  const badKey = key.safeParse('__proto__').error?.issues[0]?.message ?? 'not allowed as a name';
  return z.preprocess(
    (input, ctx) => {
      if (isPlainObject(input) && Object.hasOwn(input, '__proto__'))
        ctx.addIssue({ code: 'custom', path: ['__proto__'], message: badKey, input });
      return input;
    },
    z.record(key, value, { error: expecting(what) })
  );
}

/**
 * An object that takes exactly one of several shapes, told apart by which key is present
 * (`{local: true}` vs `{ssh: …}`; `{conda: …}` vs `{venv: …}`). A key may also appear as an
 * optional field of another shape (`python` next to `conda`); then that shape wins. Unlike
 * z.union, which reports every branch's failures, this validates the one shape the user
 * meant, so the messages name that shape's fields.
 */
export function exactlyOneOf<V extends Record<string, z.ZodObject>>(variants: V, what: string) {
  const keys = Object.keys(variants);
  const list = keys.join(', ');
  return z.unknown().transform((value, ctx): z.output<V[keyof V]> => {
    if (!isPlainObject(value)) {
      ctx.addIssue({ code: 'custom', message: expecting(`${what} with one of: ${list}`)({ input: value }) });
      return z.NEVER;
    }
    const present = keys.filter(k => Object.hasOwn(value, k));
    // A shape that accepts every other present key is the one meant (conda + python).
    const chosen = present.filter(k => present.every(other => Object.hasOwn(variants[k].shape, other)));
    if (chosen.length !== 1) {
      const found =
        present.length === 0
          ? `found ${
              Object.keys(value)
                .map(k => JSON.stringify(k))
                .join(', ') || 'no keys'
            }`
          : `found ${present.join(' and ')}`;
      ctx.addIssue({ code: 'custom', message: `pick one of ${list} (${found})` });
      return z.NEVER;
    }
    const result = variants[chosen[0]].safeParse(value);
    if (result.success) return result.data as z.output<V[keyof V]>;
    for (const issue of result.error.issues) ctx.addIssue({ ...issue } as z.core.$ZodRawIssue);
    return z.NEVER;
  });
}
