import type { EnvConfig } from '../config/schema';
import { renderEnvActivation } from '../sessions/env-activation';
import { renderRemoteCommand } from '../transport/quote';
import type { ExecResult, Transport } from '../transport/types';
import { hasPorts, parseConnectionFile, remoteConnectionFile, type ConnectionInfo } from './connection-file';

/** The job-step name of kernels, so a restart can find (and stop) a kernel that would not die. */
export const KERNEL_STEP_NAME = 'hpclab-kernel';
// As long as a timer can wait (2^31 ms ≈ 24 days): a kernel lives as long as its allocation.
const KERNEL_MAX_MS = 2 ** 31 - 1;

export interface KernelStepInput {
  transport: Transport;
  jobId: string;
  /** The allocation's node, as the login node reaches it. */
  host: string;
  sessionDir: string;
  /** From the local connection file: the kernel must sign with the same key. */
  key: string;
  signatureScheme: string;
  env: EnvConfig | undefined;
  gpu: boolean;
}

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
 */
export async function startKernelStep(input: KernelStepInput): Promise<KernelStep> {
  const { transport, sessionDir } = input;
  const remoteCf = `${sessionDir}/kernel-${Date.now()}.json`;
  const local = { key: input.key, signature_scheme: input.signatureScheme };
  await transport.writeFile(remoteCf, remoteConnectionFile(local, input.host), { mode: 0o600 });
  const env = renderEnvActivation(input.env, { gpu: input.gpu });
  // Values arrive as positional parameters ($1, $2): the script itself is fixed text plus quoted words.
  // debugpy (in ipykernel) warns about frozen modules at every start; the warning says to set this.
  const script = [...env.lines, 'export PYDEVD_DISABLE_FILE_VALIDATION=1', `exec ${renderRemoteCommand([...env.python, '-m', 'ipykernel_launcher', '-f'])} "$1" >>"$2" 2>&1`].join('\n');
  const argv = ['srun', `--jobid=${input.jobId}`, '--overlap', '--nodes=1', '--ntasks=1', '--quiet', `--job-name=${KERNEL_STEP_NAME}`, 'bash', '-c', script, 'bash', remoteCf, `${sessionDir}/kernel.log`];
  const done = transport.exec(argv, { timeoutMs: KERNEL_MAX_MS });
  const remote = await waitForPorts(transport, remoteCf, done);
  return { remote, done };
}

/** Stops kernel steps still running in the allocation (a kernel that ignored its shutdown). */
export async function stopKernelSteps(transport: Transport, jobId: string): Promise<number> {
  const r = await transport.exec(['squeue', '-h', '-s', '-j', jobId, '-o', '%i|%j']);
  const steps = r.stdout
    .split('\n')
    .map(line => line.trim().split('|'))
    .filter(([id, name]) => name === KERNEL_STEP_NAME && /^\d+(_\d+)?\.\d+$/.test(id ?? ''))
    .map(([id]) => id);
  if (steps.length > 0) await transport.exec(['scancel', ...steps]);
  return steps.length;
}

/** The last part of the kernel's own log on the node, for messages when it dies. */
export async function kernelLogTail(transport: Transport, sessionDir: string, bytes = 2000): Promise<string> {
  const r = await transport.exec(['tail', '-c', String(bytes), `${sessionDir}/kernel.log`]).catch(() => undefined);
  return r?.code === 0 ? r.stdout.trim() : '';
}

/** ipykernel writes its real ports back into the connection file once it has bound them. */
async function waitForPorts(transport: Transport, remoteCf: string, step: Promise<unknown>): Promise<ConnectionInfo> {
  let ended = false;
  step.then(
    () => (ended = true),
    () => (ended = true)
  );
  for (let i = 0; i < 600 && !ended; i++) {
    const text = await transport.readFile(remoteCf).catch(() => undefined);
    if (text && text.length > 0) {
      const info = parseConnectionFile(text.toString(), remoteCf);
      if (hasPorts(info)) return info;
    }
    await sleep(200);
  }
  throw new Error(ended ? 'the kernel exited before it was ready (its log is kernel.log in the session directory)' : 'the kernel did not bind its ports within 2 minutes');
}
