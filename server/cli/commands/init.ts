import * as os from 'node:os';
import { ClusterRegistry } from '../../clusters';
import { parseConfig } from '../../config/load';
import { configPath } from '../../config/paths';
import { defineCommand } from '../args';
import { UsageError } from '../context';
import { kernelsCommand } from './kernels';
import { readConfigJson, writeConfigJson } from '../../setup/config-file';
import { discoverCluster, discoverySummary, type Discovery } from '../../setup/discover';
import { clusterNameFor, mergeIntoConfig, proposeProfiles, type ClusterFacts } from '../../setup/proposal';
import { listSshHosts } from '../../setup/ssh-hosts';
import { Progress } from '../progress';
import { askLine, ttyPrompter } from '../tty-prompter';
import { readSshConfig } from '../../transport/ssh/ssh-config';

/*
 * `hpclab init`: a cluster set up from the user's ~/.ssh/config without editing a file. It
 * connects as everything else does (jump hosts, agent, 2FA prompts on the terminal), asks Slurm
 * what the user may use, proposes profiles, shows the config and writes it (0600) after a yes.
 */
export const initCommand = defineCommand({
  name: 'init',
  summary:
    'Set up a cluster from ~/.ssh/config: connect, find partitions, GPUs, accounts and environments, write profiles',
  usage: ['hpclab init [--host ALIAS] [--cluster NAME] [--yes] [--json] [--config FILE]'],
  description:
    'First-run setup without editing a file: connects to the login node as ssh does (jump hosts, agent, 2FA prompts), asks Slurm for partitions, GPU types, accounts and QOS, finds Python environments with ipykernel, proposes profiles, shows the config and writes it (0600) after a yes. An existing config is merged; nothing in it changes.',
  flags: {
    host: {
      type: 'string',
      value: 'ALIAS',
      description: "the login node's Host alias in ~/.ssh/config (default: asked on the terminal)"
    },
    cluster: {
      type: 'string',
      value: 'NAME',
      description: 'the name of the cluster in the config (default: made from the alias)'
    },
    yes: { type: 'boolean', description: 'write the config without asking (needed without a terminal)' },
    json: { type: 'boolean', description: 'print what was found and written as JSON instead of the summary' }
  },
  examples: [
    { description: 'Pick the login node from ~/.ssh/config and confirm on the terminal', command: 'hpclab init' },
    { description: 'Unattended, from a script', command: 'hpclab init --host mycluster --yes --json' }
  ],
  env: ['HPCLAB_CONFIG', 'XDG_CONFIG_HOME', 'SSH_AUTH_SOCK', 'SHELL', 'CI'],
  async run({ values }) {
    const t0 = Date.now();
    const homeDir = os.homedir();
    const interactive = !!process.stdin.isTTY && !values.yes;
    const alias = values.host ?? (await chooseHost(listSshHosts(await readSshConfig(homeDir)), interactive));
    const cluster = values.cluster ?? clusterNameFor(alias);
    const clusterConfig = { ssh: { host: alias } };
    // The flags as a config of one cluster, checked like any config (errors name the field).
    const probe = parseConfig(
      JSON.stringify({ clusters: { [cluster]: clusterConfig }, profiles: {} }),
      '--host/--cluster'
    );
    const target = configPath({ flag: values.config, env: process.env, homeDir }).path;
    const existing = await readConfigJson(target);
    mergeIntoConfig(existing, cluster, clusterConfig, {}); // a clash with the user's config fails before we connect

    const registry = new ClusterRegistry(probe, { prompter: ttyPrompter, homeDir });
    const progress = new Progress();
    let found: Discovery;
    try {
      const { transport, scheduler } = registry.get(cluster);
      found = await discoverCluster(alias, transport, scheduler, (label, work) => progress.during(label, work));
    } finally {
      await registry.close();
    }
    const facts = found.facts;

    const merged = mergeIntoConfig(existing, cluster, clusterConfig, proposeProfiles(cluster, facts));
    const text = `${JSON.stringify(merged.config, null, 2)}\n`;
    parseConfig(text, target); // what is written must load
    const summary = {
      config: target,
      cluster,
      host: alias,
      profiles: merged.added,
      ...discoverySummary(found),
      env: facts.env,
      slurmCalls: found.slurmCalls,
      seconds: Math.round((Date.now() - t0) / 100) / 10
    };
    if (!values.json) process.stderr.write(describe(summary) + `\n\n${target} will be:\n${text}`);
    if (!values.yes) {
      if (!interactive)
        throw new UsageError('--yes: there is no terminal to confirm on; run again with --yes to write the config');
      if (!/^y(es)?$/i.test((await askLine(`Write ${target}? [y/N] `)).trim())) {
        process.stderr.write('Nothing written.\n');
        return 1;
      }
    }
    await writeConfigJson(target, merged.config);
    if (values.json) {
      process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
      return 0;
    }
    process.stdout.write(
      `Wrote ${target}: cluster ${cluster}${merged.added.length ? `, profiles ${merged.added.join(', ')}` : ' (its profiles were there already)'}.\n`
    );
    if (
      interactive &&
      merged.added.length > 0 &&
      /^y(es)?$/i.test(
        (await askLine(`Add a remote kernel for ${merged.added.join(', ')} to Jupyter's kernel picker? [y/N] `)).trim()
      )
    ) {
      for (const profile of merged.added) await kernelsCommand.run(['add', '--profile', profile, '--config', target]);
    } else {
      process.stdout.write(
        `Next: hpclab status --cluster ${cluster}; a remote kernel per profile with hpclab kernels add --profile NAME.\n`
      );
    }
    return 0;
  }
});

/** The alias to set up: asked on the terminal from ~/.ssh/config's hosts, else a usage error listing them. */
async function chooseHost(hosts: string[], interactive: boolean): Promise<string> {
  const listed = hosts.length
    ? hosts.join(', ')
    : 'none yet: add a Host entry to ~/.ssh/config (the one you use with ssh)';
  if (!interactive || hosts.length === 0)
    throw new UsageError(`--host: name the login node's ~/.ssh/config alias (hosts there: ${listed})`);
  process.stderr.write(`Hosts in ~/.ssh/config:\n${hosts.map((h, i) => `  ${i + 1}. ${h}`).join('\n')}\n`);
  const answer = (await askLine("Which is your cluster's login node? (number or alias) ")).trim();
  const chosen = /^\d+$/.test(answer) ? hosts[Number(answer) - 1] : hosts.find(h => h === answer);
  if (!chosen) throw new UsageError(`--host: "${answer}" is none of ${hosts.join(', ')}`);
  return chosen;
}

function describe(s: {
  cluster: string;
  host: string;
  partitions: { name: string; default: boolean; gpus: string[] }[];
  associations: ClusterFacts['associations'];
  envs: string[];
  profiles: string[];
  slurmCalls: number;
  seconds: number;
}): string {
  const lines = [`Cluster ${s.cluster} (ssh ${s.host}), asked in ${s.seconds} s with ${s.slurmCalls} Slurm calls:`];
  for (const p of s.partitions)
    lines.push(
      `  partition ${p.name}${p.default ? ' (default)' : ''}${p.gpus.length ? `: GPUs ${[...new Set(p.gpus)].join(', ')}` : ''}`
    );
  lines.push(
    s.associations === null
      ? '  accounts: none listed (no Slurm accounting here)'
      : `  accounts: ${s.associations.map(a => `${a.account}${a.qos.length ? ` (QOS ${a.qos.join(', ')})` : ''}`).join('; ') || 'none'}`
  );
  lines.push(`  environments with ipykernel: ${s.envs.join(', ') || 'none found besides python3'}`);
  lines.push(`  profiles to add: ${s.profiles.join(', ') || 'none (they are there already)'}`);
  return lines.join('\n');
}
