import type { EnvConfig } from '../config/schema';
import { discoverEnvs, type DiscoveredEnv } from '../kernels/discovery';
import type { ClusterFacts } from './proposal';
import type { Scheduler } from '../scheduler/types';
import type { Transport } from '../transport/types';

/*
 * What a cluster offers the user, asked over one connection: partitions with their limits and
 * GPU types, the user's accounts and QOS, and environments with ipykernel. `hpclab init` and the
 * sidebar's "Add a cluster" both ask through here, so they propose the same profiles.
 */

export interface Discovery {
  facts: ClusterFacts;
  /** Every environment found, with or without ipykernel. */
  envs: DiscoveredEnv[];
  /** How many Slurm commands were run (the figure to keep low: admins watch slurmctld). */
  slurmCalls: number;
}

/** Each step's words, for a progress line or a notification. */
export type StepRunner = <T>(label: string, work: () => Promise<T>) => Promise<T>;

const direct: StepRunner = (_label, work) => work();

export async function discoverCluster(
  alias: string,
  transport: Transport,
  scheduler: Scheduler,
  step: StepRunner = direct
): Promise<Discovery> {
  let slurmCalls = 0;
  const partitions = await step(
    `Connecting to ${alias}, asking Slurm for partitions…`,
    () => (slurmCalls++, scheduler.partitions())
  );
  const associations = await step(
    'Asking Slurm for your accounts and QOS…',
    () => (slurmCalls++, readAssociations(transport))
  );
  const envs = await step('Looking for Python environments with ipykernel…', () => discoverEnvs(transport));
  const env = await profileEnv(transport, envs);
  return { facts: { partitions, associations, env }, envs, slurmCalls };
}

/** The user's accounts and their QOS; null where accounting is off or sacctmgr is missing. */
async function readAssociations(transport: Transport): Promise<ClusterFacts['associations']> {
  const who = await transport.exec(['id', '-un']);
  const user = who.stdout.trim();
  if (who.code !== 0 || !/^[A-Za-z0-9._-]+$/.test(user)) return null;
  const r = await transport.exec(['sacctmgr', '-nP', 'show', 'assoc', `user=${user}`, 'format=account,qos']);
  // No slurmdbd (accounting_storage/none) or no sacctmgr: nothing to propose, which is fine.
  if (r.code !== 0) return null;
  const byAccount = new Map<string, Set<string>>();
  for (const line of r.stdout.split('\n')) {
    const [account, qos = ''] = line.trim().split('|');
    if (!account) continue;
    const set = byAccount.get(account) ?? new Set<string>();
    for (const q of qos.split(',').filter(Boolean)) set.add(q);
    byAccount.set(account, set);
  }
  return [...byAccount].map(([account, qos]) => ({ account, qos: [...qos] }));
}

/** python3 on the node's PATH when it has ipykernel (one check), else the first environment found with it. */
async function profileEnv(transport: Transport, envs: DiscoveredEnv[]): Promise<EnvConfig> {
  const check = await transport.exec([
    'python3',
    '-c',
    'import importlib.util, sys; sys.exit(0 if importlib.util.find_spec("ipykernel") else 1)'
  ]);
  if (check.code === 0) return { python: 'python3' };
  return envs.find(e => e.ipykernel)?.env ?? { python: 'python3' };
}

/** What init prints and the API answers about a discovery. */
export function discoverySummary(d: Discovery) {
  return {
    partitions: d.facts.partitions.map(p => ({
      name: p.name,
      default: p.isDefault,
      timeLimitSec: p.timeLimit,
      gpus: p.gpus.map(g => g.type || 'gpu')
    })),
    associations: d.facts.associations,
    envs: d.envs.filter(e => e.ipykernel).map(e => `${e.kind}:${e.name}`)
  };
}
