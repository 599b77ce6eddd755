import { NAME_PATTERN, type EnvConfig, type ProfileConfig } from '../config/schema';
import type { PartitionSummary } from '../scheduler/types';

/*
 * What `hpclab init` proposes from what the cluster says (pure: tested with recorded answers):
 * one CPU profile on the default partition and one profile per GPU type, each asking for an hour
 * or the partition's limit if shorter, merged into the user's config without changing anything
 * already there.
 */

/** What init found out about the cluster and the user there. */
export interface ClusterFacts {
  partitions: PartitionSummary[];
  /** The user's accounts and the QOS each allows (sacctmgr); null where accounting is off. */
  associations: { account: string; qos: string[] }[] | null;
  /** The environment the profiles run (python3 on PATH when it has ipykernel, else a found env). */
  env: EnvConfig;
}

const HOUR = 3600;

/** A cluster name from an ssh alias: the alias where it is a valid name, else its letters. */
export function clusterNameFor(alias: string): string {
  if (NAME_PATTERN.test(alias)) return alias;
  const cleaned = alias
    .replace(/[^A-Za-z0-9_.-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 64);
  return NAME_PATTERN.test(cleaned) ? cleaned : 'cluster';
}

function hms(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return [h, m, s].map(n => String(n).padStart(2, '0')).join(':');
}

/** An hour, or the partition's limit when that is shorter. */
function timeFor(p: PartitionSummary): string {
  return hms(p.timeLimit === null ? HOUR : Math.min(HOUR, p.timeLimit));
}

/** The profiles init proposes, by name. */
export function proposeProfiles(cluster: string, facts: ClusterFacts): Record<string, ProfileConfig> {
  const usable = facts.partitions.filter(p => p.available === 'up');
  const partitions = usable.length > 0 ? usable : facts.partitions;
  const profiles: Record<string, ProfileConfig> = {};
  // One account: nothing to choose, so the profiles name it; several: the user's default applies.
  const accounts = facts.associations?.map(a => a.account) ?? [];
  const account = accounts.length === 1 ? { account: accounts[0] } : {};
  const base = (p: PartitionSummary) => ({ cluster, partition: p.name, time: timeFor(p), ...account, env: facts.env });

  const cpuPartition = partitions.find(p => p.isDefault) ?? partitions.find(p => p.gpus.length === 0) ?? partitions[0];
  if (cpuPartition) profiles.cpu = { ...base(cpuPartition), cpus: 1 };
  // GPU profiles prefer a partition other than the CPU profile's (sites often give GPU nodes a
  // partition of their own, and list them in the default one too).
  const gpuOrder = [...partitions.filter(p => p !== cpuPartition), ...(cpuPartition ? [cpuPartition] : [])];
  for (const p of gpuOrder) {
    for (const gpu of p.gpus) {
      const name = gpu.type ? `gpu-${gpu.type}` : 'gpu';
      // The same type on several partitions: the first offers it (the user can add others).
      if (profiles[name] || !NAME_PATTERN.test(name)) continue;
      profiles[name] = { ...base(p), cpus: 2, gres: gpu.type ? `gpu:${gpu.type}:1` : 'gpu:1' };
    }
  }
  return profiles;
}

type Json = Record<string, unknown>;

export interface Merged {
  config: Json;
  /** Profile names as written (a name already taken gets `-<cluster>`). */
  added: string[];
  /** Whether the cluster entry was new (false: the same entry was there already). */
  clusterAdded: boolean;
}

/**
 * The user's config with the cluster and profiles added. Nothing there is changed or removed:
 * a cluster of the same name with other settings is an error, a profile name already taken
 * gets a suffix, and `defaults.cluster` is set only where there was none.
 */
export function mergeIntoConfig(
  existing: Json | undefined,
  cluster: string,
  clusterConfig: Json,
  profiles: Record<string, ProfileConfig>
): Merged {
  const config: Json = structuredClone(existing ?? {});
  const clusters = (config.clusters ?? {}) as Json;
  const same = clusters[cluster] !== undefined && JSON.stringify(clusters[cluster]) === JSON.stringify(clusterConfig);
  if (clusters[cluster] !== undefined && !same)
    throw new Error(
      `the config already has a cluster "${cluster}" with other settings: choose another name with --cluster, or remove it first`
    );
  config.clusters = { ...clusters, [cluster]: clusterConfig };
  const current = (config.profiles ?? {}) as Json;
  const next: Json = { ...current };
  const added: string[] = [];
  const identical = (value: unknown, profile: ProfileConfig) => JSON.stringify(value) === JSON.stringify(profile);
  for (const [name, profile] of Object.entries(profiles)) {
    // The first free name among name, name-<cluster>, name-<cluster>-3…; run again, init finds
    // its own profile under one of them unchanged, and adds nothing.
    let target = name;
    for (let i = 2; next[target] !== undefined && !identical(next[target], profile); i++)
      target = i === 2 ? `${name}-${cluster}` : `${name}-${cluster}-${i}`;
    if (next[target] !== undefined) continue;
    next[target] = profile;
    added.push(target);
  }
  config.profiles = next;
  const defaults = (config.defaults ?? {}) as Json;
  if (defaults.cluster === undefined) config.defaults = { ...defaults, cluster };
  return { config, added, clusterAdded: !same };
}
