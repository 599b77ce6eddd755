import { randomInt } from 'node:crypto';
import { z } from 'zod';
import type { EnvActivation } from '../sessions/env-activation';
import { quoteWord, renderRemoteCommand } from '../transport/quote';
import { CHANNELS, type ConnectionInfo, type KernelBind } from './connection-file';

/*
 * Kernels other than hpclab's own ipykernel start: a Jupyter kernelspec found inside an env on
 * the cluster (IRkernel, IJulia, xeus-*, …), run as the kernel step instead of
 * `python -c KERNEL_BOOTSTRAP -f`. Two things differ from ipykernel:
 *
 * - They do not pick their own ports and write them back into the connection file; they bind
 *   what the file says. So hpclab names the five channels itself: ipc sockets `<prefix>-1…5`
 *   (IRkernel ≥ 1.0 binds `ipc://<ip>-<port>`, the same naming as ipykernel), or, where an
 *   allocation binds TCP on the node, five ports picked here.
 * - Their interrupt is often a signal (IRkernel has no interrupt_request handler). The local
 *   kernelspec still says `message` (a signal would reach the local launcher, and Windows has
 *   none to send), so hpclab turns the control channel's interrupt_request into SIGINT on the
 *   node for kernels whose own mode is `signal`.
 */

/** Jupyter's kernel name rule, as kernel directories on the cluster use it (case kept). */
const REMOTE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Names a POSIX shell can export; no `BASH_FUNC_…%%` or other names a shell would reinterpret. */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const ONE_LINE = /^[^\0\r\n]*$/;

const word = z
  .string()
  .max(4096, { error: 'each argv word must be at most 4096 characters' })
  .regex(ONE_LINE, { error: 'argv words cannot hold a NUL or a line break' });

/** What `--kernel JSON` and `metadata.hpclab.kernel` carry: the remote kernelspec hpclab runs. */
export const remoteKernelSpecSchema = z.strictObject({
  name: z.string().regex(REMOTE_NAME, {
    error: 'name: a kernel directory name of letters, digits, ".", "_" and "-" (at most 64)'
  }),
  argv: z
    .array(word, { error: 'argv: expected a list of strings' })
    .min(1, { error: 'argv: expected at least one word' })
    .max(64, { error: 'argv: expected at most 64 words' })
    .refine(a => a.some(w => w.includes('{connection_file}')), {
      error: 'argv: must pass {connection_file}, which hpclab replaces with the connection file on the node'
    }),
  language: z.string().regex(/^[^\x00-\x1f\x7f]{1,64}$/, { error: 'language: 1 to 64 characters on one line' }),
  interruptMode: z.enum(['signal', 'message'], { error: 'interruptMode: "signal" or "message"' }),
  env: z
    .record(
      z.string(),
      z.string().max(8192).regex(ONE_LINE, { error: 'env: values cannot hold a NUL or a line break' })
    )
    // Checked here rather than by the key schema, whose failure zod reports without its message.
    .superRefine((e, ctx) => {
      const bad = Object.keys(e).filter(n => !ENV_NAME.test(n));
      if (bad.length > 0)
        ctx.addIssue({
          code: 'custom',
          message: `env: names are letters, digits and "_", not starting with a digit; not ${bad.map(n => JSON.stringify(n)).join(', ')}`
        });
      if (Object.keys(e).length > 64) ctx.addIssue({ code: 'custom', message: 'env: at most 64 variables' });
    })
    .optional(),
  /** The kernelspec's directory on the cluster, for `{resource_dir}` in argv. */
  resourceDir: z
    .string()
    .regex(/^\/[^\0\r\n]*$/, { error: 'resourceDir: an absolute path on one line' })
    .optional()
});
export type RemoteKernelSpec = z.output<typeof remoteKernelSpecSchema>;

/** `text` as a RemoteKernelSpec; the message names `flag` and each bad field. */
export function parseRemoteKernelSpec(text: string, flag: string): RemoteKernelSpec {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new TypeError(
      `${flag}: expected JSON like {"name": "ir", "argv": ["R", "--slave", "-e", "IRkernel::main()", "--args", "{connection_file}"], "language": "R", "interruptMode": "signal"}, got ${JSON.stringify(text.slice(0, 80))}`
    );
  }
  const parsed = remoteKernelSpecSchema.safeParse(data);
  if (!parsed.success)
    throw new TypeError(
      `${flag}: ${parsed.error.issues.map(i => (i.path.length > 1 ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ')} (re-add the kernel with hpclab kernels add --env E --kernel K)`
    );
  return parsed.data;
}

/** Jupyter's substitution: `{connection_file}` and `{resource_dir}` anywhere inside a word; other `{…}` stay. */
export function substituteArgv(argv: readonly string[], values: { connectionFile: string; resourceDir?: string }) {
  return argv.map(w =>
    w.replace(/\{(connection_file|resource_dir)\}/g, (all, key: string) =>
      key === 'connection_file' ? values.connectionFile : (values.resourceDir ?? all)
    )
  );
}

export interface KernelCommandInput {
  /** The remote kernelspec, or undefined for hpclab's own ipykernel start. */
  kernel: RemoteKernelSpec | undefined;
  /** renderEnvActivation(env, { gpu }) of the kernel's environment. */
  activation: EnvActivation;
  /** The connection file on the node. */
  connectionFile: string;
  /** The kernel's log on the node (stdout and stderr are appended). */
  log: string;
  /** How ipykernel is started: [...activation.python, '-c', KERNEL_BOOTSTRAP, '-f'] (the connection file follows). */
  ipykernel: string[];
}

/** A step command: run as `bash -c script bash ...args` (every value is an argument, never script text). */
export interface KernelCommand {
  script: string;
  args: string[];
}

/**
 * The bash the kernel step runs. The script is fixed text plus the env's activation lines
 * (quoted by env-activation) and the kernel's env, each value quoted; the command itself, the
 * connection file and the log arrive as positional parameters: `$1` the log, then the argv.
 */
export function renderKernelCommand(input: KernelCommandInput): KernelCommand {
  const { kernel, activation } = input;
  if (!kernel) {
    // debugpy (in ipykernel) warns about frozen modules at every start; the warning says to set this.
    const script = [
      ...activation.lines,
      'export PYDEVD_DISABLE_FILE_VALIDATION=1',
      'log=$1; shift',
      'exec "$@" >>"$log" 2>&1'
    ].join('\n');
    return { script, args: [input.log, ...input.ipykernel, input.connectionFile] };
  }
  const argv = substituteArgv(kernel.argv, { connectionFile: input.connectionFile, resourceDir: kernel.resourceDir });
  if (argv.some(w => w.includes('{resource_dir}')))
    throw new TypeError(
      `kernel ${kernel.name}: argv uses {resource_dir} but no resourceDir is known; re-add it with hpclab kernels add --env E --kernel ${kernel.name}`
    );
  const lines = withoutPythonCheck(activation);
  for (const [name, value] of Object.entries(kernel.env ?? {})) {
    // Checked again here: a spec may come from anywhere the schema did not run.
    if (!ENV_NAME.test(name))
      throw new TypeError(`kernel ${kernel.name}: env name ${JSON.stringify(name)} is not a shell name`);
    lines.push(`export ${name}=${quoteWord(value)}`);
  }
  // Before exec, so a missing interpreter says so in kernel.log rather than "exec: not found".
  const program = activation.exec.length > 0 ? activation.exec[0] : argv[0];
  lines.push(
    `command -v ${quoteWord(program)} >/dev/null 2>&1 || { ${renderRemoteCommand(['printf', 'hpclab: the kernel program %s is not found on this node\\n', program])} >&2; exit 3; }`
  );
  const script = [...lines, 'log=$1; shift', 'exec "$@" >>"$log" 2>&1'].join('\n');
  return { script, args: [input.log, ...activation.exec, ...argv] };
}

/**
 * The activation lines without their closing "is python there" check: an R or Julia env needs
 * no python. That check is the last line and names activation.python (see env-activation.ts);
 * containers check their runtime instead, which the kernel does need, so theirs stays.
 */
function withoutPythonCheck(activation: EnvActivation): string[] {
  const lines = [...activation.lines];
  const python = activation.python.at(-1);
  if (activation.exec.length === 0 && python && lines.at(-1)?.startsWith(`command -v ${quoteWord(python)} `))
    lines.pop();
  return lines;
}

/**
 * The connection file for a kernel that binds what it is told: the same key and scheme, and the
 * five channels named up front. ipc: sockets `<prefix>-1` … `<prefix>-5` (a fresh prefix per
 * start, so no clash). TCP (allocations that bind on the node's address): five distinct ports
 * from the dynamic range, picked here because the login node cannot ask the compute node which
 * are free; a port already taken makes the kernel exit at start with "Address already in use"
 * in kernel.log, and the next start picks others.
 */
export function boundConnectionFile(
  local: Pick<ConnectionInfo, 'key' | 'signature_scheme'>,
  bind: KernelBind,
  pickPort: () => number = () => randomInt(49152, 65536)
): string {
  const ports: number[] = [];
  if ('ipcPrefix' in bind) ports.push(1, 2, 3, 4, 5);
  else
    while (ports.length < CHANNELS.length) {
      const p = pickPort();
      if (!ports.includes(p)) ports.push(p);
    }
  return JSON.stringify({
    ...Object.fromEntries(CHANNELS.map((c, i) => [c, ports[i]])),
    ip: 'ipcPrefix' in bind ? bind.ipcPrefix : bind.host,
    key: local.key,
    transport: 'ipcPrefix' in bind ? 'ipc' : 'tcp',
    signature_scheme: local.signature_scheme,
    kernel_name: ''
  });
}

/**
 * Such a kernel writes nothing back, so "ready" is its five ipc sockets existing: this argv exits
 * 0 once they all do (run it on the login node; the socket directory is on the node, so run it
 * in a step, or poll through the relay). Paths are arguments, the script is fixed.
 */
export function ipcSocketsReadyArgv(info: Pick<ConnectionInfo, 'ip' | (typeof CHANNELS)[number]>): string[] {
  const paths = CHANNELS.map(c => `${info.ip}-${info[c]}`);
  return ['sh', '-c', 'for s do [ -S "$s" ] || exit 1; done', 'sh', ...paths];
}

/**
 * Counts interrupt_request messages in the bytes a client sends on the control channel, for
 * kernels whose interrupt is a signal. Matches the header's msg_type only (not a debug request
 * that mentions the words), across chunk boundaries, each message once.
 */
export class InterruptWatch {
  private static readonly PATTERN = /"msg_type"\s*:\s*"interrupt_request"/g;
  private static readonly CARRY = 64;
  private carry = '';

  /** The number of interrupt requests that ended in this chunk. */
  feed(chunk: Buffer): number {
    const text = this.carry + chunk.toString('latin1');
    let count = 0;
    for (const m of text.matchAll(InterruptWatch.PATTERN)) if (m.index + m[0].length > this.carry.length) count++;
    this.carry = text.slice(-InterruptWatch.CARRY);
    return count;
  }
}

/** What interrupts a signal-mode kernel: SIGINT to its step's task (the kernel itself, after `exec`). */
export function interruptStepArgv(stepIds: string[]): string[] {
  if (stepIds.length === 0 || stepIds.some(id => !/^\d+(_\d+)?\.\d+$/.test(id)))
    throw new TypeError(`interrupt: expected job step ids like 1234.5, got ${JSON.stringify(stepIds)}`);
  return ['scancel', '--signal=INT', ...stepIds];
}

/** True for an argv that starts ipykernel: hpclab's own start (no --kernel) suits it better. */
export function looksLikeIpykernel(argv: readonly string[]): boolean {
  return argv.some(w => /^ipykernel(_launcher)?$/.test(w) || /ipykernel_launcher(\.py)?$/.test(w));
}
