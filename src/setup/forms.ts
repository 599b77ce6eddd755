import { HpclabError } from '../api';
import { el } from '../format';
import type { ProfileConfig } from '../contract';

/*
 * The pure parts of the setup forms (tested without a Lab): which keys the profile form edits,
 * how form values become a profile without losing the keys it does not show, and which
 * proposed profiles a save posts.
 */

/** The scalar profile keys the form edits; every other key (env, sbatch, command…) is kept. */
export const PROFILE_FIELDS = [
  'cluster',
  'partition',
  'time',
  'cpus',
  'mem',
  'gres',
  'account',
  'qos',
  'constraint'
] as const;
export type ProfileField = (typeof PROFILE_FIELDS)[number];

/** What the form shows for a profile: each edited key as text, '' where it is not set. */
export function profileFormValues(profile: ProfileConfig): Record<ProfileField, string> {
  const values = {} as Record<ProfileField, string>;
  for (const key of PROFILE_FIELDS) {
    const value = profile[key];
    values[key] = typeof value === 'string' || typeof value === 'number' ? String(value) : '';
  }
  return values;
}

/**
 * The profile to PUT: the original with the edited keys replaced, an emptied field removed (so
 * Slurm's default applies), and everything else as it was. `cpus` goes as a number when it is
 * one; otherwise as typed, so the companion's message names the field instead of this form
 * guessing.
 */
export function buildProfile(original: ProfileConfig, values: Partial<Record<ProfileField, string>>): ProfileConfig {
  const profile: ProfileConfig = { ...original };
  for (const key of PROFILE_FIELDS) {
    if (!(key in values)) continue;
    const value = (values[key] ?? '').trim();
    if (value === '') delete profile[key];
    else profile[key] = key === 'cpus' && /^\d+$/.test(value) ? Number(value) : value;
  }
  return profile;
}

/** The keys of a profile that the form does not edit, shown as "kept as written". */
export function keptKeys(profile: ProfileConfig): string[] {
  return Object.keys(profile).filter(k => !(PROFILE_FIELDS as readonly string[]).includes(k));
}

/** The proposed profiles the user left checked, in the companion's order. */
export function checkedProfiles(
  proposed: Record<string, ProfileConfig>,
  checked: ReadonlySet<string>
): Record<string, ProfileConfig> {
  return Object.fromEntries(Object.entries(proposed).filter(([name]) => checked.has(name)));
}

/** `profile.time` → `time`: the form field a companion error path points at ('' for none). */
export function fieldOfPath(path: string): string {
  return path.replace(/^profile\./, '').split('.')[0] ?? '';
}

/** The environment in a few words: `python3`, `conda ml`, `modules python/3.11, cuda`, `apptainer img.sif`. */
export function envSummary(env: unknown): string {
  if (typeof env !== 'object' || env === null) return '';
  const e = env as Record<string, unknown>;
  if (typeof e.conda === 'string') return `conda ${e.conda}`;
  if (typeof e.venv === 'string') return `venv ${e.venv}`;
  if (Array.isArray(e.modules)) return `modules ${e.modules.join(', ')}`;
  if (typeof e.container === 'object' && e.container !== null) {
    const c = e.container as Record<string, unknown>;
    return `${String(c.runtime ?? 'container')} ${String(c.image ?? '')}`.trim();
  }
  return typeof e.python === 'string' ? e.python : Object.keys(e).join(', ');
}

/** A labelled input with its error line, found by tests as `[data-hpclab-field="<name>"]`. */
export function field(
  name: string,
  label: string,
  input: HTMLInputElement | HTMLSelectElement
): { row: HTMLElement; error: HTMLElement } {
  input.name = name;
  input.classList.add('jp-mod-styled');
  input.dataset.hpclabField = name;
  const error = el('div', { class: 'jp-hpclab-field-error', role: 'alert' });
  return {
    row: el('label', { class: 'jp-hpclab-field', dataset: { field: name } }, el('span', {}, label), input, error),
    error
  };
}

/** The inputs of a form by field name, each with its error line. */
export type FieldMap = Map<string, { input: HTMLElement; error: HTMLElement }>;

export function clearErrors(fields: FieldMap, status: HTMLElement): void {
  for (const f of fields.values()) {
    f.error.textContent = '';
    f.input.removeAttribute('aria-invalid');
  }
  status.textContent = '';
}

/**
 * Shows a failure: each field the companion named beside its input, the rest (and errors
 * without fields) in the status line. Returns how many went beside a field.
 */
export function showErrors(err: unknown, fields: FieldMap, status: HTMLElement): number {
  clearErrors(fields, status);
  const named = err instanceof HpclabError ? err.fields : [];
  let placed = 0;
  const rest: string[] = [];
  for (const f of named) {
    const target = fields.get(fieldOfPath(f.path));
    if (target) {
      target.error.textContent = f.message;
      target.input.setAttribute('aria-invalid', 'true');
      placed++;
    } else rest.push(`${f.path}: ${f.message}`);
  }
  if (named.length === 0) rest.push((err as Error).message);
  status.textContent = rest.join('\n');
  return placed;
}
