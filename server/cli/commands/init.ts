import * as os from 'node:os';
import * as path from 'node:path';
import { ClusterRegistry } from '../../app';
import { parseConfig } from '../../config/load';
import { configPath, ensurePrivateDir, readTextIfExists, writePrivateFileAtomic } from '../../config/paths';
import type { EnvConfig } from '../../config/schema';
import { discoverEnvs, type DiscoveredEnv } from '../../kernels/discovery';
import type { Transport } from '../../transport/types';
import { parseCommandArgs, type Command } from '../args';
import { UsageError } from '../context';
import { kernelsCommand } from './kernels';
import { clusterNameFor, mergeIntoConfig, proposeProfiles, type ClusterFacts } from '../init/proposal';
import { listSshHosts } from '../init/ssh-hosts';
import { Progress } from '../progress';
import { askLine, ttyPrompter } from '../tty-prompter';
import { readSshConfig } from '../../transport/ssh/ssh-config';

/*
 * `hpclab init`: a cluster set up from the user's ~/.ssh/config without editing a file. It
 * connects as everything else does (jump hosts, agent, 2FA prompts on the terminal), asks Slurm
 * what the user may use, proposes profiles, shows the config and writes it (0600) after a yes.
 */
export const initCommand: Command = {
  name: 'init',
  summary: 'Set up a cluster from ~/.ssh/config: connect, find partitions, GPUs, accounts and environments, write profiles',
  usage: 'hpclab init [--host ALIAS] [--cluster NAME] [--yes] [--json] [--config FILE]',
  async run(argv) {
    const t0 = Date.now();
    const { values } = parseCommandArgs(this, argv, { host: { type: 'string' }, cluster: { type: 'string' }, yes: { type: 'boolean' }, json: { type: 'boolean' } });
    const homeDir = os.homedir();
    const interactive = !!process.stdin.isTTY && !values.yes;
    const alias = values.host ?? (await chooseHost(listSshHosts(await readSshConfig(homeDir)), interactive));
    const cluster = values.cluster ?? clusterNameFor(alias);
    const clusterConfig = { ssh: { host: alias } };
    // The flags as a config of one cluster, checked like any config (errors name the field).
    const probe = parseConfig(JSON.stringify({ clusters: { [cluster]: clusterConfig }, profiles: {} }), '--host/--cluster');
    const target = configPath({ flag: values.config, env: process.env, homeDir }).path;
    const existing = await readExisting(target);
    mergeIntoConfig(existing, cluster, clusterConfig, {}); // a clash with the user's config fails before we connect

    const registry = new ClusterRegistry(probe, { prompter: ttyPrompter, homeDir });
    const progress = new Progress();
    let slurmCalls = 0;
    let facts: ClusterFacts;
    let envs: DiscoveredEnv[];
    try {
      const { transport, scheduler } = registry.get(cluster);
      const partitions = await progress.during(`Connecting to ${alias}, asking Slurm for partitions…`, () => (slurmCalls++, scheduler.partitions()));
      const associations = await progress.during('Asking Slurm for your accounts and QOS…', () => (slurmCalls++, readAssociations(transport)));
      envs = await progress.during('Looking for Python environments with ipykernel…', () => discoverEnvs(transport));
      const env = await profileEnv(transport, envs);
      facts = { partitions, associations, env };
    } finally {
      await registry.close();
    }

    const merged = mergeIntoConfig(existing, cluster, clusterConfig, proposeProfiles(cluster, facts));
    const text = `${JSON.stringify(merged.config, null, 2)}\n`;
    parseConfig(text, target); // what is written must load
    const summary = {
      config: target,
      cluster,
      host: alias,
      profiles: merged.added,
      partitions: facts.partitions.map(p => ({ name: p.name, default: p.isDefault, timeLimitSec: p.timeLimit, gpus: p.gpus.map(g => g.type || 'gpu') })),
      associations: facts.associations,
      envs: envs.filter(e => e.ipykernel).map(e => `${e.kind}:${e.name}`),
      env: facts.env,
      slurmCalls,
      seconds: Math.round((Date.now() - t0) / 100) / 10
    };
    if (!values.json) process.stderr.write(describe(summary) + `\n\n${target} will be:\n${text}`);
    if (!values.yes) {
      if (!interactive) throw new UsageError('--yes: there is no terminal to confirm on; run again with --yes to write the config');
      if (!/^y(es)?$/i.test((await askLine(`Write ${target}? [y/N] `)).trim())) {
        process.stderr.write('Nothing written.\n');
        return 1;
      }
    }
    await ensurePrivateDir(path.dirname(target));
    await writePrivateFileAtomic(target, text);
    if (values.json) {
      process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
      return 0;
    }
    process.stdout.write(`Wrote ${target}: cluster ${cluster}${merged.added.length ? `, profiles ${merged.added.join(', ')}` : ' (its profiles were there already)'}.\n`);
    if (interactive && merged.added.length > 0 && /^y(es)?$/i.test((await askLine(`Add a remote kernel for ${merged.added.join(', ')} to Jupyter's kernel picker? [y/N] `)).trim())) {
      for (const profile of merged.added) await kernelsCommand.run(['add', '--profile', profile, '--config', target]);
    } else {
      process.stdout.write(`Next: hpclab status --cluster ${cluster}; a remote kernel per profile with hpclab kernels add --profile NAME.\n`);
    }
    return 0;
  }
};

/** The alias to set up: asked on the terminal from ~/.ssh/config's hosts, else a usage error listing them. */
async function chooseHost(hosts: string[], interactive: boolean): Promise<string> {
  const listed = hosts.length ? hosts.join(', ') : 'none yet: add a Host entry to ~/.ssh/config (the one you use with ssh)';
  if (!interactive || hosts.length === 0) throw new UsageError(`--host: name the login node's ~/.ssh/config alias (hosts there: ${listed})`);
  process.stderr.write(`Hosts in ~/.ssh/config:\n${hosts.map((h, i) => `  ${i + 1}. ${h}`).join('\n')}\n`);
  const answer = (await askLine('Which is your cluster\'s login node? (number or alias) ')).trim();
  const chosen = /^\d+$/.test(answer) ? hosts[Number(answer) - 1] : hosts.find(h => h === answer);
  if (!chosen) throw new UsageError(`--host: "${answer}" is none of ${hosts.join(', ')}`);
  return chosen;
}

/** The config there now, checked; undefined when there is none. A broken one is an error: nothing is overwritten. */
async function readExisting(file: string): Promise<Record<string, unknown> | undefined> {
  const text = await readTextIfExists(file);
  if (text === undefined) return undefined;
  parseConfig(text, file); // throws a ConfigError naming the file and field
  return JSON.parse(text) as Record<string, unknown>;
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
  const check = await transport.exec(['python3', '-c', 'import importlib.util, sys; sys.exit(0 if importlib.util.find_spec("ipykernel") else 1)']);
  if (check.code === 0) return { python: 'python3' };
  return envs.find(e => e.ipykernel)?.env ?? { python: 'python3' };
}

function describe(s: { cluster: string; host: string; partitions: { name: string; default: boolean; gpus: string[] }[]; associations: ClusterFacts['associations']; envs: string[]; profiles: string[]; slurmCalls: number; seconds: number }): string {
  const lines = [`Cluster ${s.cluster} (ssh ${s.host}), asked in ${s.seconds} s with ${s.slurmCalls} Slurm calls:`];
  for (const p of s.partitions) lines.push(`  partition ${p.name}${p.default ? ' (default)' : ''}${p.gpus.length ? `: GPUs ${[...new Set(p.gpus)].join(', ')}` : ''}`);
  lines.push(s.associations === null ? '  accounts: none listed (no Slurm accounting here)' : `  accounts: ${s.associations.map(a => `${a.account}${a.qos.length ? ` (QOS ${a.qos.join(', ')})` : ''}`).join('; ') || 'none'}`);
  lines.push(`  environments with ipykernel: ${s.envs.join(', ') || 'none found besides python3'}`);
  lines.push(`  profiles to add: ${s.profiles.join(', ') || 'none (they are there already)'}`);
  return lines.join('\n');
}
