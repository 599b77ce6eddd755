import * as fs from 'node:fs/promises';
import type { z } from 'zod';
import { configPath, describeConfigSource, type ConfigPathOptions, type ConfigSource } from './paths';
import { configSchema, type ClusterConfig, type HpclabConfig, type ProfileConfig } from './schema';

/** One thing wrong with the config: the field (`clusters.testbed.ssh.port`, '' for the file) and what. */
export interface ConfigProblem {
  path: string;
  message: string;
}

/**
 * - `missing`: no config at the default location and none was asked for (the CLI explains
 *   how to make one);
 * - `unreadable`: the file could not be read (including a `--config`/`$HPCLAB_CONFIG` file
 *   that does not exist);
 * - `invalid`: not JSON, or not a valid config (see `problems`);
 * - `unknown-name`: a cluster or profile name that the config does not define.
 */
export type ConfigErrorKind = 'missing' | 'unreadable' | 'invalid' | 'unknown-name';

export class ConfigError extends Error {
  constructor(
    readonly kind: ConfigErrorKind,
    message: string,
    readonly problems: ConfigProblem[] = [],
    /** The config file concerned, when there is one. */
    readonly configPath?: string,
    options?: { cause?: unknown }
  ) {
    super(message, options);
    this.name = 'ConfigError';
  }
}

export interface LoadedConfig {
  config: HpclabConfig;
  path: string;
  source: ConfigSource;
}

/** Finds the config file (docs/ARCHITECTURE.md, "Config file": search order), reads and validates it. Throws ConfigError. */
export async function loadConfig(options: ConfigPathOptions): Promise<LoadedConfig> {
  const { path, source } = configPath(options);
  let text: string;
  try {
    text = await fs.readFile(path, 'utf8');
  } catch (err) {
    throw readError(path, source, err);
  }
  return { config: parseConfig(text, path), path, source };
}

function readError(path: string, source: ConfigSource, err: unknown): ConfigError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') {
    const implicit = source === 'xdg' || source === 'default';
    const message = [
      implicit
        ? `no hpclab config: ${path} does not exist.`
        : `config file ${path} (from ${describeConfigSource(source)}) does not exist.`,
      `Run 'hpclab init' to set up a cluster from your ~/.ssh/config (or "Add a cluster" in JupyterLab's HPC sidebar),`,
      `or write it by hand (see "Configuration" in the README), e.g. {"clusters": {"mycluster": {"ssh": {"host": "login.example.org"}}}}.`
    ].join('\n');
    return new ConfigError(
      implicit ? 'missing' : 'unreadable',
      message,
      [{ path: '', message: 'file does not exist' }],
      path,
      { cause: err }
    );
  }
  const reason = code === 'EISDIR' ? 'it is a directory' : err instanceof Error ? err.message : String(err);
  return new ConfigError(
    'unreadable',
    `cannot read config file ${path} (from ${describeConfigSource(source)}): ${reason}`,
    [{ path: '', message: reason }],
    path,
    { cause: err }
  );
}

/** Parses and validates config text; `sourceName` (usually the file's path) starts each message line. */
export function parseConfig(text: string, sourceName: string): HpclabConfig {
  let data: unknown;
  try {
    data = JSON.parse(text.replace(/^\uFEFF/, '')); // editors on Windows may add a BOM
  } catch (err) {
    const problem = jsonProblem(text.replace(/^\uFEFF/, ''), err as Error);
    throw new ConfigError('invalid', `${sourceName}: ${problem.message}`, [problem], sourceName, { cause: err });
  }
  const result = configSchema.safeParse(data);
  if (result.success) return result.data;
  const problems = issuesToProblems(result.error.issues);
  const lines = problems.map(p => `${sourceName}: ${p.path ? `${p.path}: ` : ''}${p.message}`);
  throw new ConfigError('invalid', lines.join('\n'), problems, sourceName);
}

/** JSON.parse reports a character offset (newer V8 also line and column); users want line and column. */
function jsonProblem(text: string, err: Error): ConfigProblem {
  let reason = err.message.replace(/\s*\(line \d+ column \d+\)\s*$/, '');
  const at = /\s*(?:in JSON )?at position (\d+)/.exec(reason);
  let offset = text.length;
  if (at) {
    offset = Number(at[1]);
    reason = reason.slice(0, at.index) + reason.slice(at.index + at[0].length);
  }
  const before = text.slice(0, offset).split('\n');
  const line = before.length;
  const column = before[before.length - 1].length + 1;
  // V8 quotes the text around the error verbatim: its line breaks and control characters
  // (escape sequences on a terminal) must not reach the one-line message.
  reason = reason.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, c =>
    JSON.stringify(c)
      .slice(1, -1)
      .replace(/^[^\\]$/, `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
  );
  return { path: '', message: `invalid JSON at line ${line}, column ${column}: ${reason.trim() || 'syntax error'}` };
}

/** `clusters.testbed.ssh.port`; keys that are not identifiers (`a.b`, `my host`) in brackets; indices `[0]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && /^[A-Za-z_][A-Za-z0-9_-]*$/.test(key)) out += out ? `.${key}` : key;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}

/** Zod issues → one problem per field; each unknown key is its own problem with the allowed keys. */
export function issuesToProblems(issues: readonly z.core.$ZodIssue[]): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const seen = new Set<string>();
  const add = (path: readonly PropertyKey[], message: string) => {
    const problem = { path: formatPath(path), message };
    const id = `${problem.path}\0${message}`;
    if (!seen.has(id)) {
      seen.add(id);
      problems.push(problem);
    }
  };
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      const allowed = /\(allowed: [^)]*\)$/.exec(issue.message)?.[0];
      for (const key of issue.keys)
        add([...issue.path, key], `unknown key ${JSON.stringify(key)}${allowed ? ` ${allowed}` : ''}`);
    } else if (issue.code === 'invalid_key') {
      // A bad record key (a cluster or profile name): the inner issue says what names may be.
      const inner = issue.issues.map(i => i.message).join('; ');
      add(issue.path, inner || issue.message);
    } else {
      add(issue.path, issue.message);
    }
  }
  return problems;
}

function unknownName(what: 'cluster' | 'profile', name: string, names: string[]): ConfigError {
  const known = names.length === 0 ? `no ${what}s are configured` : `known ${what}s: ${names.join(', ')}`;
  const field = what === 'cluster' ? 'clusters' : 'profiles';
  const message = `unknown ${what} ${JSON.stringify(name)} (${known})`;
  return new ConfigError('unknown-name', message, [{ path: field, message }]);
}

/** The named cluster, or a ConfigError listing the known ones. */
export function getCluster(config: HpclabConfig, name: string): ClusterConfig {
  if (Object.hasOwn(config.clusters, name)) return config.clusters[name];
  throw unknownName('cluster', name, Object.keys(config.clusters));
}

/** The named profile, or a ConfigError listing the known ones. */
export function getProfile(config: HpclabConfig, name: string): ProfileConfig {
  const profiles = config.profiles ?? {};
  if (Object.hasOwn(profiles, name)) return profiles[name];
  throw unknownName('profile', name, Object.keys(profiles));
}
