import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseConfig } from '../../../server/config/load';
import { clusterNameFor, mergeIntoConfig, proposeProfiles } from '../../../server/setup/proposal';
import { listSshHosts } from '../../../server/setup/ssh-hosts';
import { parsePartitions } from '../../../server/scheduler/slurm/parse-sinfo';

const fixtures = path.join(__dirname, '..', '..', 'fixtures', 'slurm');
const recorded = parsePartitions(readFileSync(path.join(fixtures, 'recorded', 'sinfo-nodes.txt'), 'utf8'));
const site = parsePartitions(readFileSync(path.join(fixtures, 'sinfo-nodes.txt'), 'utf8'));
const env = { python: 'python3' };

describe('hpclab init: what it proposes', () => {
  it('on the testbed (recorded sinfo): a CPU profile on the default partition, the fake GPU on its own partition', () => {
    const profiles = proposeProfiles('tb', { partitions: recorded, associations: null, env });
    expect(profiles).toEqual({
      cpu: { cluster: 'tb', partition: 'debug', time: '01:00:00', cpus: 1, env },
      'gpu-fake': { cluster: 'tb', partition: 'gpu', time: '01:00:00', cpus: 2, gres: 'gpu:fake:1', env }
    });
  });

  it('on a site with several GPU types: one profile per type, time capped at the partition limit', () => {
    const profiles = proposeProfiles('hpc', {
      partitions: site,
      associations: [{ account: 'proj1', qos: ['normal'] }],
      env
    });
    expect(Object.keys(profiles)).toEqual(expect.arrayContaining(['cpu', 'gpu-a100', 'gpu-v100']));
    expect(profiles.cpu).toMatchObject({ partition: 'debug', time: '01:00:00', account: 'proj1' });
    expect(profiles['gpu-a100']).toMatchObject({ partition: 'gpu', gres: 'gpu:a100:1' });
    const short = proposeProfiles('hpc', { partitions: [{ ...site[0], timeLimit: 1800 }], associations: null, env });
    expect(short.cpu.time).toBe('00:30:00');
  });

  it('names an account only when there is one to choose', () => {
    const two = proposeProfiles('hpc', {
      partitions: recorded,
      associations: [
        { account: 'a', qos: [] },
        { account: 'b', qos: [] }
      ],
      env
    });
    expect(two.cpu.account).toBeUndefined();
  });

  it('writes a config that loads', () => {
    const merged = mergeIntoConfig(
      undefined,
      'tb',
      { ssh: { host: 'tb-login' } },
      proposeProfiles('tb', { partitions: recorded, associations: null, env })
    );
    const config = parseConfig(JSON.stringify(merged.config), 'config.json');
    expect(Object.keys(config.profiles ?? {})).toEqual(['cpu', 'gpu-fake']);
    expect(config.defaults?.cluster).toBe('tb');
  });
});

describe('hpclab init: merging into an existing config', () => {
  const existing = {
    clusters: { hpc: { ssh: { host: 'hpc' } } },
    profiles: { cpu: { cluster: 'hpc', partition: 'short' } },
    defaults: { cluster: 'hpc' }
  };
  const proposed = proposeProfiles('tb', { partitions: recorded, associations: null, env });

  it('keeps everything there, suffixes a taken profile name, leaves the default cluster', () => {
    const merged = mergeIntoConfig(existing, 'tb', { ssh: { host: 'tb-login' } }, proposed);
    expect(merged.added).toEqual(['cpu-tb', 'gpu-fake']);
    expect(merged.config.profiles).toMatchObject({ cpu: existing.profiles.cpu, 'cpu-tb': proposed.cpu });
    expect(merged.config.clusters).toMatchObject(existing.clusters);
    expect(merged.config.defaults).toEqual({ cluster: 'hpc' });
    expect(existing.profiles).toEqual({ cpu: { cluster: 'hpc', partition: 'short' } }); // not mutated
  });

  it('run twice, adds nothing the second time', () => {
    const once = mergeIntoConfig(existing, 'tb', { ssh: { host: 'tb-login' } }, proposed);
    const twice = mergeIntoConfig(once.config, 'tb', { ssh: { host: 'tb-login' } }, proposed);
    expect(twice.added).toEqual([]);
    expect(twice.config).toEqual(once.config);
  });

  it('refuses a cluster name taken by other settings, naming the fix', () => {
    expect(() => mergeIntoConfig(existing, 'hpc', { ssh: { host: 'elsewhere' } }, proposed)).toThrow(
      /already has a cluster "hpc".*--cluster/
    );
  });
});

describe('hpclab init: hosts and names', () => {
  it('lists the concrete aliases of ~/.ssh/config, not patterns', () => {
    const text =
      'Host *\n  ServerAliveInterval 30\nHost hpc hpc-login # the cluster\n  HostName x\nhost=gw\nHost *.example.org !bad\nMatch host foo\nHost "quoted"\n';
    expect(listSshHosts(text)).toEqual(['hpc', 'hpc-login', 'gw', 'quoted']);
    expect(listSshHosts(undefined)).toEqual([]);
  });

  it('makes a cluster name from an alias', () => {
    expect(clusterNameFor('hpc-login')).toBe('hpc-login');
    expect(clusterNameFor('alice@login.example.org')).toBe('alice-login.example.org');
    expect(clusterNameFor('@@')).toBe('cluster');
  });
});
