import { z } from 'zod';
import { remoteKernelSpecSchema, type RemoteKernelSpec } from './remote-kernel';

/*
 * The Jupyter kernelspecs inside a discovered env, from the discovery script's `kernelspec`
 * lines: `<prefix>/share/jupyter/kernels/<dir>/kernel.json`, checked here. A kernel.json that is
 * not JSON, lacks a field, or could not run remotely is reported with its path and the reason;
 * it never fails discovery as a whole (one broken kernel must not hide the others).
 */

/** One kernelspec inside an env that hpclab can run remotely. */
export interface DiscoveredKernel {
  /** The kernelspec's directory name (`ir`, `julia-1.10`, `python3`). */
  name: string;
  displayName: string;
  language: string;
  argv: string[];
  /** kernel.json's interrupt_mode; Jupyter's default is signal. */
  interruptMode: 'signal' | 'message';
  /** kernel.json's `env`: variables the kernel starts with. */
  env: Record<string, string>;
  /** Whether the directory has logo-64x64.png (copied into the local kernelspec when added). */
  hasLogo: boolean;
  /** The kernelspec's directory on the cluster (`{resource_dir}`). */
  resourceDir: string;
}

export interface BrokenKernelspec {
  /** The kernel.json on the cluster. */
  path: string;
  problem: string;
}

export const discoveredKernelSchema = z.object({
  name: z.string(),
  displayName: z.string(),
  language: z.string(),
  argv: z.array(z.string()),
  interruptMode: z.enum(['signal', 'message']),
  env: z.record(z.string(), z.string()),
  hasLogo: z.boolean(),
  resourceDir: z.string()
}) satisfies z.ZodType<DiscoveredKernel>;

/** The fields of kernel.json hpclab reads (jupyter_client's KernelSpec); others are left alone. */
const kernelJsonSchema = z.looseObject({
  argv: z.array(z.string(), { error: 'argv: expected a list of strings' }).min(1, { error: 'argv: empty' }),
  display_name: z.string({ error: 'display_name: expected a string' }),
  language: z.string({ error: 'language: expected a string' }),
  interrupt_mode: z.enum(['signal', 'message'], { error: 'interrupt_mode: "signal" or "message"' }).optional(),
  env: z.record(z.string(), z.string(), { error: 'env: expected an object of strings' }).optional()
});

const ABSOLUTE = /^\/[^\x00-\x1f\x7f]*$/;
const issues = (e: z.ZodError) => e.issues.map(i => i.message).join('; ');

/**
 * One `kernelspec` line: its env's prefix, and the kernel or why it cannot be used. Undefined
 * for a line that is not well-formed (skipped like any malformed discovery line).
 */
export function parseKernelspecLine(
  line: string
): { prefix: string; result: DiscoveredKernel | BrokenKernelspec } | undefined {
  const f = line.split('\t');
  if (f.length !== 5 || f[0] !== 'kernelspec') return undefined;
  const [, prefix, dir, logo, text] = f;
  if (!ABSOLUTE.test(prefix) || !/^[^/\x00-\x1f\x7f]+$/.test(dir) || !/^[01]$/.test(logo)) return undefined;
  const resourceDir = `${prefix}/share/jupyter/kernels/${dir}`;
  const path = `${resourceDir}/kernel.json`;
  const broken = (problem: string) => ({ prefix, result: { path, problem } });
  if (text.trim() === '') return broken('unreadable, empty or larger than 64 KiB');
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    return broken(`not JSON (${(err as Error).message})`);
  }
  const parsed = kernelJsonSchema.safeParse(data);
  if (!parsed.success) return broken(issues(parsed.error));
  const json = parsed.data;
  const kernel: DiscoveredKernel = {
    name: dir,
    displayName: json.display_name.trim() || dir,
    language: json.language,
    argv: json.argv,
    interruptMode: json.interrupt_mode ?? 'signal',
    env: json.env ?? {},
    hasLogo: logo === '1',
    resourceDir
  };
  // What `kernel-launch --kernel` will accept: checked now, so a kernel listed is one that can be added.
  const spec = remoteKernelSpecSchema.safeParse(toRemoteSpec(kernel));
  if (!spec.success) return broken(issues(spec.error));
  return { prefix, result: kernel };
}

/** What the local kernelspec records and `kernel-launch --kernel` carries for a discovered kernel. */
export function toRemoteSpec(kernel: DiscoveredKernel): RemoteKernelSpec {
  return {
    name: kernel.name,
    argv: kernel.argv,
    language: kernel.language,
    interruptMode: kernel.interruptMode,
    ...(Object.keys(kernel.env).length > 0 ? { env: kernel.env } : {}),
    resourceDir: kernel.resourceDir
  };
}

/** The kernel `name` inside an env; the message lists the ones there are, or the broken one's problem. */
export function matchKernel(
  env: { name: string; kernels: DiscoveredKernel[]; brokenKernels: BrokenKernelspec[] },
  name: string
): DiscoveredKernel {
  const found = env.kernels.find(k => k.name === name);
  if (found) return found;
  const broken = env.brokenKernels.find(b => b.path.endsWith(`/${name}/kernel.json`));
  if (broken) throw new Error(`kernel "${name}" in ${env.name} cannot be used: ${broken.path}: ${broken.problem}`);
  const there = env.kernels.map(k => k.name);
  throw new Error(
    `no kernel "${name}" in ${env.name}${there.length ? `; it has: ${there.join(', ')}` : ' (it has no kernelspecs in share/jupyter/kernels)'}`
  );
}
