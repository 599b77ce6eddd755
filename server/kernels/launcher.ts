import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { ProfileConfig } from '../config/schema';
import type { ClusterPoller } from '../scheduler/poller';
import type { Scheduler } from '../scheduler/types';
import { renderEnvActivation } from '../sessions/env-activation';
import { labSubmitOptions } from '../sessions/job-script';
import { renderRemoteCommand } from '../transport/quote';
import type { Transport } from '../transport/types';
import { HEARTBEAT_EVERY_SEC, renderAllocationScript } from './allocation-script';
import { hasPorts, parseConnectionFile, remoteConnectionFile, type ConnectionInfo } from './connection-file';
import { KernelTunnels } from './tunnels';

export interface LaunchOptions {
  cluster: string;
  profileName: string;
  profile: ProfileConfig;
  connectionFile: string;
  services: { transport: Transport; scheduler: Scheduler; poller: ClusterPoller };
  /** Progress for the user (stderr for Jupyter's log). */
  log: (message: string) => void;
}

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));
// As long as a timer can wait (2^31 ms ≈ 24 days): a kernel lives as long as its allocation.
const KERNEL_MAX_MS = 2 ** 31 - 1;

/**
 * What Jupyter runs for a remote kernel: gets (or re-uses) the profile's allocation, starts
 * ipykernel there as a job step with a connection file carrying the same key, and tunnels the
 * five channels from the local ports Jupyter chose. Resolves with the exit code for Jupyter.
 */
export async function launchKernel(o: LaunchOptions): Promise<number> {
  const { transport, scheduler } = o.services;
  const cf = path.resolve(o.connectionFile);
  const local = parseConnectionFile(await fs.readFile(cf, 'utf8'), cf);
  // Same connection file (Jupyter keeps it across restarts) → same allocation.
  const id = `k${createHash('sha256').update(`${o.cluster}\n${o.profileName}\n${cf}`).digest('hex').slice(0, 15)}`;
  const home = (await transport.exec(['sh', '-c', 'printf %s "$HOME"'])).stdout;
  const dir = `${home}/.hpclab/sessions/${id}`;
  await mustRun(transport, ['sh', '-c', 'umask 077 && mkdir -p "$1" && touch "$1/heartbeat"', 'sh', dir], `create ${dir}`);

  // Keep the allocation alive while this process lives (it releases itself otherwise).
  const heartbeat = setInterval(() => transport.exec(['touch', `${dir}/heartbeat`]).catch(() => undefined), HEARTBEAT_EVERY_SEC * 1000);
  let jobId = '';
  let tunnels: KernelTunnels | undefined;
  const release = async () => {
    if (jobId) await scheduler.cancel(jobId).catch(() => undefined);
  };
  const onSignal = () => {
    o.log('hpclab: stopping the kernel and releasing its allocation');
    void release();
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  try {
    jobId = await findOrSubmit(o, id, dir, home);
    const host = await waitForAllocation(o, dir, jobId);
    const remoteCf = `${dir}/kernel-${Date.now()}.json`;
    await transport.writeFile(remoteCf, remoteConnectionFile(local, host), { mode: 0o600 });
    const env = renderEnvActivation(o.profile.env, { gpu: /(^|,)gpu(:|$)/.test(o.profile.gres ?? '') });
    const script = [...env.lines, `exec ${renderRemoteCommand([...env.python, '-m', 'ipykernel_launcher', '-f'])} "$1" >>"$2" 2>&1`].join('\n');
    const step = transport.exec(['srun', `--jobid=${jobId}`, '--overlap', '--nodes=1', '--ntasks=1', '--quiet', '--job-name=hpclab-kernel', 'bash', '-c', script, 'bash', remoteCf, `${dir}/kernel.log`], { timeoutMs: KERNEL_MAX_MS });
    const remote = await waitForPorts(transport, remoteCf, step);
    tunnels = new KernelTunnels(local, remote, port => transport.openStream({ host, port }));
    await tunnels.start();
    o.log(`hpclab: kernel running on ${host} in job ${jobId}`);
    const result = await step;
    if (tunnels.shutdownRequested()) await release();
    if (result.code !== 0) {
      const tail = (await transport.exec(['tail', '-c', '2000', `${dir}/kernel.log`]).catch(() => undefined))?.stdout ?? '';
      o.log(`hpclab: the kernel on the node ended with code ${result.code ?? result.signal}${tail ? `:\n${tail}` : ''}`);
    }
    return result.code === 0 ? 0 : 1;
  } finally {
    clearInterval(heartbeat);
    tunnels?.close();
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}

async function mustRun(transport: Transport, argv: string[], what: string): Promise<string> {
  const r = await transport.exec(argv);
  if (r.code !== 0) throw new Error(`cannot ${what}: ${r.stderr.trim()}`);
  return r.stdout;
}

async function findOrSubmit(o: LaunchOptions, id: string, dir: string, home: string): Promise<string> {
  const jobs = (await o.services.poller.jobs.get(0)).data;
  const live = jobs.find(j => j.name === `hpclab-${id}` && (j.state === 'RUNNING' || j.state === 'PENDING'));
  if (live) {
    o.log(`hpclab: re-using allocation ${live.id} (${live.state.toLowerCase()})`);
    return live.id;
  }
  const { options } = labSubmitOptions({ sessionId: id, sessionDir: dir, homeDir: home, profile: o.profile });
  options.comment = `hpclab:${id}:kernel:${o.profileName}`;
  const jobId = await o.services.scheduler.submit({ script: renderAllocationScript({ sessionId: id, sessionDir: dir }), options });
  o.services.poller.jobs.invalidate();
  o.log(`hpclab: submitted allocation ${jobId} for profile ${o.profileName} on ${o.cluster}`);
  return jobId;
}

/** Waits for the allocation's node address, saying where the job is while it waits. */
async function waitForAllocation(o: LaunchOptions, dir: string, jobId: string): Promise<string> {
  let lastSaid = '';
  for (let i = 0; ; i++) {
    const text = await o.services.transport.readFile(`${dir}/allocation.json`).catch(() => undefined);
    if (text && text.length) {
      const info = JSON.parse(text.toString()) as { host?: string; jobId?: string };
      if (info.host && info.jobId === jobId) return info.host;
    }
    if (i % 10 === 0) {
      const job = (await o.services.poller.jobs.get().catch(() => undefined))?.data.find(j => j.id === jobId);
      if (job && !['PENDING', 'RUNNING', 'CONFIGURING'].includes(job.state)) throw new Error(`the allocation ${jobId} ended (${job.state}) before the kernel started`);
      const said = job?.state === 'PENDING' ? `hpclab: allocation ${jobId} pending (${job.reason ?? 'waiting'}${job.startTime ? `, estimated start ${job.startTime.toISOString()}` : ''})` : '';
      if (said && said !== lastSaid) o.log((lastSaid = said));
    }
    await sleep(500);
  }
}

/** ipykernel writes its real ports back into the connection file once it has bound them. */
async function waitForPorts(transport: Transport, remoteCf: string, step: Promise<unknown>): Promise<ConnectionInfo> {
  let ended = false;
  step.then(() => (ended = true), () => (ended = true));
  for (let i = 0; i < 600 && !ended; i++) {
    const text = await transport.readFile(remoteCf).catch(() => undefined);
    if (text) {
      const info = parseConnectionFile(text.toString(), remoteCf);
      if (hasPorts(info)) return info;
    }
    await sleep(200);
  }
  throw new Error(ended ? 'the kernel exited before it was ready (see kernel.log in the session directory)' : 'the kernel did not bind its ports within 2 minutes');
}
