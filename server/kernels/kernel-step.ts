import type { EnvConfig } from '../config/schema';
import { renderEnvActivation } from '../sessions/env-activation';
import { TransportError } from '../transport/errors';
import type { ExecResult, Transport } from '../transport/types';
import {
  hasPorts,
  parseRemoteConnectionFile,
  remoteConnectionFile,
  type ConnectionInfo,
  type KernelBind
} from './connection-file';
import { KERNEL_BOOTSTRAP } from './kernel-bootstrap';
import { boundConnectionFile, interruptStepArgv, renderKernelCommand, type RemoteKernelSpec } from './remote-kernel';

/** The job-step name of kernels, so a restart can find (and stop) a kernel that would not die. */
export const KERNEL_STEP_NAME = 'hpclab-kernel';
/**
 * Names the current kernel's files in the session directory (`kernel-<stamp>.json`, `.rc`):
 * `kernel-current` for the kernel the allocation was made for, `kernel-current-<id>` for others
 * sharing it.
 */
const CURRENT_FILE = 'kernel-current';
// One watch lasts at most this long on the cluster, so a watch left behind by a dropped link ends by itself.
const WATCH_SEC = 600;
// How often a watch asks squeue whether the step still runs (one RPC per kernel this often).
const STEP_CHECK_SEC = 30;

/** Which kernel of which allocation: their names tell its step and files from its neighbours'. */
export interface KernelIdentity {
  kernelId: string;
  /** The allocation's session id (the id of the kernel it was first made for). */
  allocationId: string;
}

/** A kernel's share of a shared allocation; absent fields share the allocation's. */
export interface KernelShare {
  cpus?: number;
  mem?: string;
  gpus?: number;
}

export interface KernelStepInput extends KernelIdentity {
  transport: Transport;
  jobId: string;
  /** Where the allocation's kernels bind: its private socket directory, or its node's address. */
  where: KernelWhere;
  sessionDir: string;
  /** From the local connection file: the kernel must sign with the same key. */
  key: string;
  signatureScheme: string;
  env: EnvConfig | undefined;
  gpu: boolean;
  /** Its own CPUs, memory and GPUs within the allocation, for kernels that share one. */
  share?: KernelShare;
  /** Where the kernel starts (made if missing; "~/" is the cluster home); default the home. */
  cwd?: string;
  /** An env's own kernelspec (R, Julia…) to run instead of hpclab's start of ipykernel. */
  kernel?: RemoteKernelSpec;
}

export type KernelWhere = { socketDir: string } | { host: string };

export interface KernelStep {
  /** The connection file ipykernel wrote back, with the ports it bound on the node. */
  remote: ConnectionInfo;
  /** Settles when the step ends (the kernel exited, was killed, or the allocation ended). */
  done: Promise<ExecResult>;
}

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

/**
 * Starts ipykernel as a job step of a running allocation. The key reaches the node only inside
 * a 0600 connection file written through the transport: never on a command line, never in the
 * step's environment. ipykernel binds free ports on the node and writes them back into that
 * file, which is how the tunnels learn where to go.
 *
 * The step's `srun` is detached from the connection that started it (its own session, no
 * terminal, output to files): a dropped link, a rebooted laptop or a companion killed with -9
 * leave the kernel and its variables running, and the next companion re-attaches to it. Its
 * exit code lands in `kernel-<stamp>.rc`, which `done` watches.
 */
export async function startKernelStep(input: KernelStepInput, stillWanted: () => boolean): Promise<KernelStep> {
  const { transport, sessionDir } = input;
  const stamp = String(Date.now());
  const { cf, rc } = stepFiles(sessionDir, stamp);
  const names = kernelNames(input);
  const local = { key: input.key, signature_scheme: input.signatureScheme };
  const bind = kernelBind(input.where, stamp);
  // ipykernel picks its ports and writes them back; other kernels get theirs from us.
  const file = input.kernel ? boundConnectionFile(local, bind) : remoteConnectionFile(local, bind);
  await Promise.all([
    transport.writeFile(cf, file, { mode: 0o600 }),
    transport.writeFile(`${sessionDir}/${names.current}`, `${stamp}\n`, { mode: 0o600 })
  ]);
  const activation = renderEnvActivation(input.env, { gpu: input.gpu });
  const command = renderKernelCommand({
    kernel: input.kernel,
    activation,
    connectionFile: cf,
    log: `${sessionDir}/${names.log}`,
    ipykernel: [...activation.python, '-c', KERNEL_BOOTSTRAP, '-f']
  });
  // Values arrive as positional parameters: $1 the directory to start in, then the kernel
  // command's own ($1 its log, then its argv). The directory is made if missing; one that
  // cannot be made or entered ends the kernel with the reason in its log.
  const kernel = [
    'case $1 in "~/"*) hpclab_cwd="$HOME/${1#"~/"}" ;; "") hpclab_cwd=$HOME ;; *) hpclab_cwd=$1 ;; esac',
    'mkdir -p -- "$hpclab_cwd" && cd -- "$hpclab_cwd" || { echo "hpclab: cannot start the kernel in $hpclab_cwd" >>"$2"; exit 4; }',
    'shift',
    command.script
  ].join('\n');
  const srun = [
    'srun',
    `--jobid=${input.jobId}`,
    ...shareFlags(input.share),
    '--nodes=1',
    '--ntasks=1',
    '--quiet',
    `--job-name=${names.step}`,
    'bash',
    '-c',
    kernel,
    'bash',
    input.cwd ?? '',
    ...command.args
  ];
  // srun's own complaints go to kernel.log too; the exit code is written atomically when it ends.
  const record = 'umask 077; rc=$1; log=$2; shift 2; "$@" >>"$log" 2>&1; echo $? >"$rc.tmp" && mv -f "$rc.tmp" "$rc"';
  const detach = 'inner=$1; shift; setsid -f sh -c "$inner" sh "$@" </dev/null >/dev/null 2>&1';
  const started = await transport.exec(['sh', '-c', detach, 'sh', record, rc, `${sessionDir}/${names.log}`, ...srun]);
  if (started.code !== 0)
    throw new Error(`cannot start the kernel step: ${started.stderr.trim() || `exit ${started.code}`}`);
  const done = watchStep(transport, input.jobId, rc, names.step, stillWanted);
  if (!input.kernel) return { remote: await waitForPorts(transport, cf, bind, done), done };
  const remote = parseRemoteConnectionFile(file, cf, bind);
  if ('ipcPrefix' in bind) await waitForSockets(transport, input.jobId, remote, done);
  return { remote, done };
}

/**
 * The kernel step a companion started before it was restarted (or lost its link), if it still
 * runs with this key: its ports, and a new watch on its end. Undefined when there is none to
 * re-attach to, so the caller starts a fresh one.
 */
export async function findRunningKernelStep(
  transport: Transport,
  jobId: string,
  where: KernelWhere,
  sessionDir: string,
  key: string,
  who: KernelIdentity,
  stillWanted: () => boolean
): Promise<KernelStep | undefined> {
  const names = kernelNames(who);
  // Each file that cannot be read means "no step to re-attach to": the caller starts a fresh one,
  // and a link that is down fails that start loudly.
  const stamp = (await transport.readFile(`${sessionDir}/${names.current}`).catch(() => undefined))?.toString().trim();
  if (!stamp || !/^\d+$/.test(stamp)) return undefined;
  const { cf, rc } = stepFiles(sessionDir, stamp);
  if (await transport.readFile(rc).catch(() => undefined)) return undefined; // an exit file: it ended; none: it runs on
  const text = await transport.readFile(cf).catch(() => undefined); // unreadable: nothing to re-attach to (above)
  if (!text) return undefined;
  const remote = parseRemoteConnectionFile(text.toString(), cf, kernelBind(where, stamp));
  if (!hasPorts(remote) || remote.key !== key) return undefined;
  if ((await kernelStepIds(transport, jobId, who)).length === 0) return undefined;
  return { remote, done: watchStep(transport, jobId, rc, names.step, stillWanted) };
}

/**
 * The names that are this kernel's alone: its step, its pointer to the current connection file,
 * its log. The kernel an allocation was made for keeps the names of the time before allocations
 * were shared, so a kernel started by an older companion is found again.
 */
export function kernelNames(who: KernelIdentity): { step: string; current: string; log: string } {
  if (who.kernelId === who.allocationId) return { step: KERNEL_STEP_NAME, current: CURRENT_FILE, log: 'kernel.log' };
  return {
    step: `${KERNEL_STEP_NAME}.${who.kernelId}`,
    current: `${CURRENT_FILE}-${who.kernelId}`,
    log: `kernel-${who.kernelId}.log`
  };
}

/**
 * srun's flags for a kernel's share. Without one the step overlaps everything the allocation
 * has, as a lone kernel always did; with one it takes exactly its CPUs, memory and GPUs, so
 * Slurm gives each kernel its own GPU (CUDA_VISIBLE_DEVICES names only it) and neighbours
 * cannot starve each other.
 */
export function shareFlags(share: KernelShare | undefined): string[] {
  if (!share || (share.cpus === undefined && share.mem === undefined && share.gpus === undefined)) return ['--overlap'];
  return [
    '--exact',
    ...(share.cpus !== undefined ? [`--cpus-per-task=${share.cpus}`] : []),
    ...(share.mem !== undefined ? [`--mem=${share.mem}`] : []),
    ...(share.gpus !== undefined ? [`--gres=gpu:${share.gpus}`] : [])
  ];
}

/** ipc sockets `k<stamp>-<n>` in the socket directory: a restarted kernel's never clash with the old one's. */
function kernelBind(where: KernelWhere, stamp: string): KernelBind {
  return 'socketDir' in where ? { ipcPrefix: `${where.socketDir}/k${stamp}` } : { host: where.host };
}

function stepFiles(sessionDir: string, stamp: string) {
  return { cf: `${sessionDir}/kernel-${stamp}.json`, rc: `${sessionDir}/kernel-${stamp}.rc` };
}

/**
 * Resolves with the step's exit code once its rc file appears. Each watch is one command that
 * waits on the cluster; a dropped link only ends the watch, which starts again (with backoff)
 * over the re-made connection. Gives up when the kernel is no longer wanted (its allocation ended).
 */
async function watchStep(
  transport: Transport,
  jobId: string,
  rc: string,
  stepName: string,
  stillWanted: () => boolean
): Promise<ExecResult> {
  // A dot every 5 s: once the connection is gone, writing it kills the watch (SIGPIPE), so a
  // dropped link or a killed companion leaves no watch (nor its sshd session) behind.
  // Every 30 s it also asks whether the step still runs: a login node that rebooted took the
  // process that writes the exit code with it (the kernel lives on, on its node), so a step
  // that ends after that would otherwise never be seen to end. Gone means missing from squeue
  // twice in a row with no exit code (not a step still being created, nor one whose exit code
  // is being written); squeue failing (slurmctld away) is no answer.
  const wait = [
    'i=0; miss=0',
    `while [ ! -e "$1" ] && [ $i -lt ${WATCH_SEC * 2} ]; do`,
    '  sleep 0.5; i=$((i+1)); [ $((i % 10)) -ne 0 ] || printf .',
    `  if [ $((i % ${STEP_CHECK_SEC * 2})) -eq 0 ] && steps=$(squeue -h -s -j "$2" -o %j 2>/dev/null); then`,
    // Whole lines: one kernel's name is a prefix of its neighbours'.
    `    if printf '%s\\n' "$steps" | grep -qxF -e "$3"; then miss=0; elif [ ! -e "$1" ]; then miss=$((miss+1)); fi`,
    '    [ $miss -lt 2 ] || { echo; echo gone; exit 0; }',
    '  fi',
    'done; echo; cat "$1"'
  ].join('\n');
  let backoff = 500;
  while (stillWanted()) {
    try {
      const r = await transport.exec(['sh', '-c', wait, 'sh', rc, jobId, stepName], {
        timeoutMs: (WATCH_SEC + 60) * 1000
      });
      backoff = 500;
      const code = r.stdout.trim().split('\n').pop() ?? '';
      if (r.code === 0 && /^\d+$/.test(code)) return { code: Number(code), signal: null, stdout: '', stderr: '' };
      if (r.code === 0 && code === 'gone')
        return { code: null, signal: null, stdout: '', stderr: 'the kernel step ended without leaving its exit code' };
    } catch (err) {
      if (!(err instanceof TransportError) || !['unreachable', 'timeout'].includes(err.kind)) throw err;
      await sleep(backoff);
      backoff = Math.min(backoff * 2, 10_000);
    }
  }
  return { code: null, signal: 'SIGKILL', stdout: '', stderr: '' };
}

/** Stops this kernel's steps still running in the allocation (one that ignored its shutdown); its neighbours run on. */
export async function stopKernelSteps(transport: Transport, jobId: string, who: KernelIdentity): Promise<number> {
  const steps = await kernelStepIds(transport, jobId, who);
  if (steps.length > 0) await transport.exec(['scancel', ...steps]);
  return steps.length;
}

async function kernelStepIds(transport: Transport, jobId: string, who: KernelIdentity): Promise<string[]> {
  const { step } = kernelNames(who);
  const r = await transport.exec(['squeue', '-h', '-s', '-j', jobId, '-o', '%i|%j']);
  return r.stdout
    .split('\n')
    .map(line => line.trim().split('|'))
    .filter(([id, name]) => name === step && /^\d+(_\d+)?\.\d+$/.test(id ?? ''))
    .map(([id]) => id);
}

/** Sends SIGINT to this kernel's step: kernels whose interrupt is a signal (IRkernel) ignore interrupt_request. */
export async function interruptKernelSteps(transport: Transport, jobId: string, who: KernelIdentity): Promise<void> {
  const steps = await kernelStepIds(transport, jobId, who);
  if (steps.length === 0) return;
  const r = await transport.exec(interruptStepArgv(steps));
  if (r.code !== 0) throw new Error(`scancel --signal=INT exited ${r.code}: ${r.stderr.trim()}`);
}

/**
 * A kernel that writes nothing back is ready once its five ipc sockets exist. They are in the
 * job's directory on the node, so a short step of the job looks (the login node cannot).
 */
async function waitForSockets(
  transport: Transport,
  jobId: string,
  info: ConnectionInfo,
  step: Promise<unknown>
): Promise<void> {
  const sockets = (['shell_port', 'iopub_port', 'stdin_port', 'control_port', 'hb_port'] as const).map(
    c => `${info.ip}-${info[c]}`
  );
  const look =
    'i=0; while [ $i -lt 1200 ]; do ok=1; for s do [ -S "$s" ] || ok=0; done; [ $ok = 1 ] && exit 0; sleep 0.1; i=$((i+1)); done; exit 1';
  const probe = [
    'srun',
    `--jobid=${jobId}`,
    '--overlap',
    '--nodes=1',
    '--ntasks=1',
    '--quiet',
    '--job-name=hpclab-probe'
  ];
  const looking = transport.exec([...probe, 'sh', '-c', look, 'sh', ...sockets], { timeoutMs: 150_000 });
  const ended = step.then(() => 'ended' as const);
  const r = await Promise.race([looking, ended]);
  if (r === 'ended') throw new Error('the kernel exited before it was ready (its log is in the session directory)');
  if (r.code !== 0)
    throw new Error(`the kernel did not open its sockets within 2 minutes${r.stderr ? `: ${r.stderr.trim()}` : ''}`);
}

/** The last part of the kernel's own log on the node, for messages when it dies. */
export async function kernelLogTail(
  transport: Transport,
  sessionDir: string,
  who: KernelIdentity,
  bytes = 2000
): Promise<string> {
  const log = `${sessionDir}/${kernelNames(who).log}`;
  const r = await transport.exec(['tail', '-c', String(bytes), log]).catch(() => undefined); // best effort: the message stands without it
  return r?.code === 0 ? r.stdout.trim() : '';
}

/** ipykernel writes its real ports (ipc: socket numbers) back into the connection file once it has bound them. */
async function waitForPorts(
  transport: Transport,
  remoteCf: string,
  bind: KernelBind,
  step: Promise<unknown>
): Promise<ConnectionInfo> {
  let ended = false;
  step.then(
    () => (ended = true),
    () => (ended = true)
  );
  for (let i = 0; i < 2400 && !ended; i++) {
    const text = await transport.readFile(remoteCf).catch(() => undefined); // not there yet (or a blip): read again in 200 ms
    if (text && text.length > 0) {
      const info = parseRemoteConnectionFile(text.toString(), remoteCf, bind);
      if (hasPorts(info)) return info;
    }
    // Often: every 50 ms of polling here is 25 ms on every notebook's start, and a read is cheap.
    await sleep(50);
  }
  throw new Error(
    ended
      ? 'the kernel exited before it was ready (its log is kernel.log in the session directory)'
      : 'the kernel did not bind its ports within 2 minutes'
  );
}
