import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { writePrivateFileAtomic } from '../config/paths';
import type { EnvConfig, ProfileConfig } from '../config/schema';
import { describeValue } from '../config/schema-builders';
import { parseGpuGres } from '../scheduler/slurm/gres';
import { durationSeconds } from '../scheduler/slurm/time';
import { logoPng, logoSvg, PNG_SIGNATURE } from './logo';
import { remoteKernelSpecSchema, type RemoteKernelSpec } from './remote-kernel';

/*
 * Kernelspecs for hpclab remote kernels: `<kernels dir>/<name>/kernel.json` whose argv runs
 * `hpclab kernel-launch`, marked by `metadata.hpclab` so that hpclab only ever updates or
 * removes kernelspecs it wrote, never one the user installed with ipykernel or conda.
 */

/**
 * Where Jupyter looks for user kernelspecs, in jupyter_core's order (jupyter_data_dir()):
 * $JUPYTER_DATA_DIR, else the platform's user data dir. Paths are joined with the target
 * platform's rules so a Windows answer has backslashes wherever this runs.
 */
export function kernelsDir(
  env: NodeJS.ProcessEnv,
  homeDir: string,
  platform: NodeJS.Platform = process.platform
): string {
  const p = platform === 'win32' ? path.win32 : path.posix;
  if (env.JUPYTER_DATA_DIR) return p.join(env.JUPYTER_DATA_DIR, 'kernels');
  if (platform === 'darwin') return p.join(homeDir, 'Library', 'Jupyter', 'kernels');
  if (platform === 'win32') {
    if (env.APPDATA) return p.join(env.APPDATA, 'jupyter', 'kernels');
    // jupyter_core's fallback without %APPDATA%: <config dir>/data.
    return p.join(env.JUPYTER_CONFIG_DIR || p.join(homeDir, '.jupyter'), 'data', 'kernels');
  }
  // The XDG spec says relative values are invalid and must be ignored.
  const xdg =
    env.XDG_DATA_HOME && p.isAbsolute(env.XDG_DATA_HOME) ? env.XDG_DATA_HOME : p.join(homeDir, '.local', 'share');
  return p.join(xdg, 'jupyter', 'kernels');
}

/**
 * Jupyter's kernel name rule (letters, digits, ".", "_", "-"), narrowed: lower case, because
 * Jupyter lower-cases names when it lists them and two specs differing in case would clash
 * (and do on macOS and Windows file systems); a letter or digit first, so neither "." nor
 * ".." nor an option-like "-x" can be a name. No "/" or "\": a name is one path component.
 */
export const KERNEL_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** The nearest valid name, or '' when nothing is left. */
function sanitizeName(raw: string): string {
  return raw
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 64);
}

/** Returns `name` when it is a valid kernel name; throws a message naming --name and the fix otherwise. */
export function checkKernelName(name: string): string {
  if (typeof name === 'string' && KERNEL_NAME.test(name)) return name;
  if (typeof name !== 'string' || name === '') {
    throw new KernelspecError(
      'invalid',
      '--name: give a kernel name of lowercase letters, digits, ".", "_" and "-", such as hpclab-mycluster-gpu'
    );
  }
  const suggestion = sanitizeName(name);
  const hint = suggestion && suggestion !== name ? `; try ${JSON.stringify(suggestion)}` : '';
  throw new KernelspecError(
    'invalid',
    `--name: expected lowercase letters, digits, ".", "_" and "-", starting with a letter or digit, at most 64 characters; got ${describeValue(name)}${hint}`
  );
}

const shortHash = (text: string, length: number) => createHash('sha256').update(text).digest('hex').slice(0, length);

/**
 * `hpclab-<cluster>-<profile>[-<hash of envKey>]`. It depends only on what the kernel runs,
 * never on the display name, so re-adding a kernel updates it rather than adding a second.
 * When sanitizing loses information (upper case, long names), a hash of the originals keeps
 * `GPU` and `gpu` apart.
 */
export function defaultKernelName(cluster: string, profile: string, envKey?: string): string {
  const raw = `hpclab-${cluster}-${profile}`;
  const readable = sanitizeName(raw).replace(/-{2,}/g, '-');
  const envPart = envKey ? `-${shortHash(envKey, 8)}` : '';
  const lossy = readable !== raw || readable.length + envPart.length > 64;
  const suffix = (lossy ? `-${shortHash(`${cluster}\n${profile}`, 6)}` : '') + envPart;
  return checkKernelName(readable.slice(0, 64 - suffix.length).replace(/[._-]+$/, '') + suffix);
}

/** A kernelspec request that cannot be done as asked: a bad name, not ours to touch, or not there. */
export class KernelspecError extends Error {
  constructor(
    readonly kind: 'invalid' | 'conflict' | 'not-found',
    message: string
  ) {
    super(message);
    this.name = 'KernelspecError';
  }
}

// ---- display names --------------------------------------------------------------------

/** `/opt/envs/torch` → `torch`; `/home/me/proj/.venv` → `proj` (a hidden or generic last part says little). */
function envLabel(location: string): string {
  const parts = location.split('/').filter(Boolean);
  const last = parts.at(-1) ?? location;
  return (/^\.|^(?:venv|env)$/.test(last) && parts.length > 1 ? parts.at(-2) : last) ?? last;
}

/** `python3.11` → `Python 3.11`; any other interpreter → `Python 3` (ipykernel needs 3). */
function pythonLabel(python: string | undefined): string {
  const m = /^python(\d+(?:\.\d+)?)$/.exec(path.posix.basename(python ?? ''));
  return `Python ${m ? m[1] : '3'}`;
}

/** What runs and in what: `Python 3.11 (conda torch)`; a kernel of the env's own (`R`) replaces the Python part. */
function languageLabel(env: EnvConfig | undefined, kernel: string | undefined): string {
  if (!env) return kernel ?? 'Python 3';
  if ('conda' in env) return `${kernel ?? pythonLabel(env.python)} (conda ${envLabel(env.conda)})`;
  if ('venv' in env) return `${kernel ?? 'Python 3'} (venv ${envLabel(env.venv)})`;
  if ('modules' in env) {
    const more = env.modules.length > 1 ? ` +${env.modules.length - 1}` : '';
    return `${kernel ?? pythonLabel(env.python)} (module ${env.modules[0]}${more})`;
  }
  if ('container' in env) {
    const image = env.container.image.split(/[/\\]/).filter(Boolean).at(-1) ?? env.container.image;
    return `${kernel ?? pythonLabel(env.container.python)} (${env.container.runtime} ${image.replace(/\.(?:sif|simg|sqfs)$/, '')})`;
  }
  return kernel ?? pythonLabel(env.python);
}

/** `gpu:a100:2` → `GPU 2× A100`; `gpu:1` → `1 GPU`; other gres (shard, mps) say nothing here. */
function gpuLabel(gres: string): string | undefined {
  let counts;
  try {
    counts = parseGpuGres(gres);
  } catch {
    return gres; // not a shape we know: the user's own words are the best description
  }
  const entries = [...counts].filter(([, n]) => n > 0);
  if (entries.length === 0) return undefined;
  if (entries.every(([type]) => type))
    return `GPU ${entries.map(([type, n]) => `${n}× ${type.toUpperCase()}`).join(' + ')}`;
  const total = entries.reduce((sum, [, n]) => sum + n, 0);
  return `${total} GPU${total === 1 ? '' : 's'}`;
}

/** `01:30:00` → `1 h 30 min`, `2-00:00:00` → `2 d`, `30` → `30 min`; UNLIMITED → `no time limit`. */
function timeLabel(time: string): string {
  const seconds = durationSeconds(time);
  if (seconds === undefined) return /^(?:UNLIMITED|INFINITE)$/i.test(time) ? 'no time limit' : time;
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.round(seconds / 60);
  const [d, h, m] = [Math.floor(minutes / 1440), Math.floor((minutes % 1440) / 60), minutes % 60];
  if (d > 0) return h > 0 ? `${d} d ${h} h` : `${d} d`; // minutes are noise next to days
  if (h > 0) return m > 0 ? `${h} h ${m} min` : `${h} h`;
  return `${m} min`;
}

export interface DescribeKernelInput {
  cluster: string;
  profileName: string;
  profile: ProfileConfig;
  /** The env the kernel runs in, when not the profile's own. */
  env?: EnvConfig;
  /** The display name of the env's own kernelspec it runs (`kernels add --kernel`), if any. */
  kernelDisplayName?: string;
}

/**
 * What the kernel picker and launcher show: what runs, on what, for how long, where, e.g.
 * `Python 3 (conda torch) · GPU 1× A100 · 2 h · mycluster`. CPUs are shown only without a GPU
 * (a GPU is what people pick a kernel for); the profile name stands in when nothing else is set.
 */
export function describeKernel(input: DescribeKernelInput): string {
  const { profile } = input;
  const gpus = profile.gres ? gpuLabel(profile.gres) : undefined;
  const cpus = profile.cpus ? `${profile.cpus} CPU${profile.cpus === 1 ? '' : 's'}` : undefined;
  const time = profile.time ? timeLabel(profile.time) : undefined;
  const resources = [gpus ?? cpus, time].filter((s): s is string => !!s);
  if (resources.length === 0) resources.push(input.profileName);
  // A remote display name may be long or hold a "·"; it is shown as is, cut to keep the picker readable.
  const kernel = input.kernelDisplayName?.trim().slice(0, 80) || undefined;
  return [languageLabel(input.env ?? profile.env, kernel), ...resources, input.cluster].join(' · ');
}

// ---- kernelspec directories -----------------------------------------------------------

/**
 * Bumped when the kernel.json hpclab writes changes shape. `metadata.hpclab.kernel` (an env's
 * own kernelspec) is an optional addition that version 1 readers ignore, so it stays 1.
 */
export const KERNELSPEC_VERSION = 1;

/** What `metadata.hpclab` records: enough for `hpclab kernels list` to say what a kernel runs. */
export interface HpclabKernelMetadata {
  profile: string;
  cluster: string;
  /** The env key (`kernel-launch --env`), when the kernel runs in an env other than the profile's. */
  env?: string;
  /** The env's own kernelspec it runs (`kernel-launch --kernel`), instead of hpclab's ipykernel start. */
  kernel?: RemoteKernelSpec;
}

export interface HpclabKernelspec {
  name: string;
  displayName: string;
  argv: string[];
  /** kernel.json's language: `python`, or the remote kernel's. */
  language: string;
  metadata: HpclabKernelMetadata & { version: number };
  /** The kernelspec directory. */
  path: string;
}

const LOGO_FILES = ['logo-32x32.png', 'logo-64x64.png', 'logo-svg.svg'];

const kernelJsonSchema = z.looseObject({
  argv: z.array(z.string()).min(1),
  display_name: z.string(),
  // Specs written before other kernels existed all said python; a missing one reads as that.
  language: z.string().catch('python'),
  metadata: z.looseObject({
    hpclab: z.looseObject({
      profile: z.string(),
      cluster: z.string(),
      env: z.string().optional(),
      // A recorded kernel that no longer validates is dropped from the listing, not the whole spec.
      kernel: remoteKernelSpecSchema.optional().catch(undefined),
      version: z.number()
    })
  })
});

const errnoCode = (err: unknown) => (err as NodeJS.ErrnoException | undefined)?.code;

type Inspection = { kind: 'missing' } | { kind: 'ours' } | { kind: 'foreign'; why: string };

/**
 * Whose kernelspec sits at `specDir`. Ours means kernel.json has `metadata.hpclab`, or there is
 * no kernel.json and only files we write: a write that stopped before kernel.json (written last).
 */
async function inspect(specDir: string): Promise<Inspection> {
  try {
    if (!(await fs.lstat(specDir)).isDirectory()) return { kind: 'foreign', why: 'it is not a directory' };
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return { kind: 'missing' };
    throw err;
  }
  let text: string;
  try {
    text = await fs.readFile(path.join(specDir, 'kernel.json'), 'utf8');
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
    const ours = (await fs.readdir(specDir)).every(f => LOGO_FILES.includes(f) || /^\..+\.tmp$/.test(f));
    return ours ? { kind: 'ours' } : { kind: 'foreign', why: 'it has no kernel.json' };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // Not ours to judge further: the answer says why hpclab leaves it alone.
    return { kind: 'foreign', why: 'its kernel.json is not valid JSON' };
  }
  const hpclab = (json as { metadata?: { hpclab?: unknown } } | null)?.metadata?.hpclab;
  return typeof hpclab === 'object' && hpclab !== null && !Array.isArray(hpclab)
    ? { kind: 'ours' }
    : { kind: 'foreign', why: 'its kernel.json has no metadata.hpclab' };
}

export interface WriteKernelspecInput {
  /** The kernels directory (kernelsDir()). */
  dir: string;
  name: string;
  /** What Jupyter runs; must pass `{connection_file}`, which Jupyter substitutes. */
  argv: string[];
  displayName: string;
  /** `python`, or the remote kernel's language (Jupyter matches notebooks to kernels by it). */
  language: string;
  metadata: HpclabKernelMetadata;
  /** The remote kernel's logo-64x64.png; hpclab's own logos when absent. */
  logo?: Buffer;
}

/**
 * Creates or updates `<dir>/<name>/`: logos first, kernel.json last and atomically, so Jupyter
 * (which skips directories without kernel.json) never reads a half-written spec. Refuses to
 * replace a kernelspec hpclab did not write. Resolves with the kernelspec directory.
 */
export async function writeKernelspec(input: WriteKernelspecInput): Promise<string> {
  const name = checkKernelName(input.name);
  if (input.argv.length === 0 || !input.argv.includes('{connection_file}')) {
    throw new KernelspecError(
      'invalid',
      `kernelspec ${name}: argv must pass {connection_file}, which Jupyter replaces with the connection file`
    );
  }
  if (!input.displayName.trim()) throw new KernelspecError('invalid', `kernelspec ${name}: the display name is empty`);
  const specDir = path.join(input.dir, name);
  const found = await inspect(specDir);
  if (found.kind === 'foreign') {
    throw new KernelspecError(
      'conflict',
      `refusing to overwrite kernelspec "${name}" at ${specDir}: it is not an hpclab kernelspec (${found.why}); pick another --name, or remove it first with \`jupyter kernelspec remove ${name}\``
    );
  }
  if (input.logo && !input.logo.subarray(0, 8).equals(PNG_SIGNATURE))
    throw new KernelspecError('invalid', `kernelspec ${name}: the logo is not a PNG file`);
  if (!/^[^\x00-\x1f\x7f]{1,64}$/.test(input.language))
    throw new KernelspecError('invalid', `kernelspec ${name}: language must be 1 to 64 characters on one line`);
  await fs.mkdir(specDir, { recursive: true });
  // A remote kernel's own logo is its only one: JupyterLab prefers logo-svg.svg, so hpclab's
  // would hide it, and a spec updated from hpclab's logos to the kernel's must lose them.
  const logos: [string, string | Buffer][] = input.logo
    ? [[LOGO_FILES[1], input.logo]]
    : [
        [LOGO_FILES[0], logoPng(32)],
        [LOGO_FILES[1], logoPng(64)],
        [LOGO_FILES[2], logoSvg()]
      ];
  for (const [file, data] of logos) await writePrivateFileAtomic(path.join(specDir, file), data);
  for (const file of LOGO_FILES.filter(f => !logos.some(([kept]) => kept === f)))
    await fs.rm(path.join(specDir, file), { force: true });
  const { profile, cluster, env, kernel } = input.metadata;
  const kernelJson = {
    argv: input.argv,
    display_name: input.displayName,
    language: input.language,
    // Interrupt over the control channel: in signal mode Jupyter would SIGINT the local launcher,
    // which stops the kernel on the node instead of interrupting it (and Windows has no SIGINT to
    // send). A remote kernel whose own mode is signal (metadata.hpclab.kernel.interruptMode) gets
    // its SIGINT on the node, from hpclab, when the control channel asks for an interrupt.
    interrupt_mode: 'message',
    metadata: {
      // JupyterLab offers its debugger only for kernelspecs that say so; ipykernel ≥ 6 speaks the
      // protocol, other kernels are not known to.
      ...(kernel ? {} : { debugger: true }),
      hpclab: { profile, cluster, ...(env ? { env } : {}), ...(kernel ? { kernel } : {}), version: KERNELSPEC_VERSION }
    }
  };
  await writePrivateFileAtomic(path.join(specDir, 'kernel.json'), `${JSON.stringify(kernelJson, null, 2)}\n`);
  return specDir;
}

async function readHpclabKernelspec(dir: string, name: string): Promise<HpclabKernelspec | undefined> {
  const specDir = path.join(dir, name);
  const json: unknown = await fs
    .readFile(path.join(specDir, 'kernel.json'), 'utf8')
    .then(text => JSON.parse(text))
    .catch(() => undefined); // unreadable or not JSON: not a kernelspec of ours, like one of another shape below
  const parsed = kernelJsonSchema.safeParse(json);
  if (!parsed.success) return undefined; // unreadable, not JSON, or not ours
  const { profile, cluster, env, kernel, version } = parsed.data.metadata.hpclab;
  return {
    name,
    displayName: parsed.data.display_name,
    argv: parsed.data.argv,
    language: parsed.data.language,
    metadata: {
      profile,
      cluster,
      ...(env !== undefined ? { env } : {}),
      ...(kernel !== undefined ? { kernel } : {}),
      version
    },
    path: specDir
  };
}

/** The hpclab kernelspecs in `dir`, sorted by name; others (ipykernel's, conda's, broken ones) are left out. */
export async function listKernelspecs(dir: string): Promise<HpclabKernelspec[]> {
  let entries;
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return []; // no kernels installed yet
    throw err;
  }
  const names = entries.filter(e => e.isDirectory() && KERNEL_NAME.test(e.name)).map(e => e.name);
  const specs = await Promise.all(names.map(name => readHpclabKernelspec(dir, name)));
  return specs
    .filter((s): s is HpclabKernelspec => s !== undefined)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Removes the hpclab kernelspec `name` from `dir`; refuses kernelspecs hpclab did not write. Resolves with the removed directory. */
export async function removeKernelspec(dir: string, name: string): Promise<string> {
  checkKernelName(name);
  const specDir = path.join(dir, name);
  const found = await inspect(specDir);
  if (found.kind === 'missing')
    throw new KernelspecError(
      'not-found',
      `no kernelspec "${name}" in ${dir}; \`hpclab kernels list\` shows the names`
    );
  if (found.kind === 'foreign') {
    throw new KernelspecError(
      'conflict',
      `refusing to remove kernelspec "${name}" at ${specDir}: it is not an hpclab kernelspec (${found.why}); \`jupyter kernelspec remove ${name}\` removes it`
    );
  }
  await fs.rm(specDir, { recursive: true, force: true });
  return specDir;
}
