import { ConfigError, parseConfig, type ConfigProblem } from '../../../server/config/load';
import type { EnvConfig, HpclabConfig } from '../../../server/config/schema';

/** The example in docs/ARCHITECTURE.md ("Config file"), verbatim. */
const DESIGN_EXAMPLE = `{"clusters": {"testbed": {"ssh": {"host": "127.0.0.1", "port": 2222, "user": "hpcuser",
                  "identityFile": "/path/id_ed25519", "knownHostsFile": "/path/known_hosts"}},
                "here": {"local": true}},
   "profiles": {"gpu": {"cluster": "testbed", "partition": "gpu", "gres": "gpu:1",
                "time": "01:00:00", "cpus": 2, "mem": "4G",
                "env": {"python": "/usr/bin/python3"}}}}`;

type Json = Record<string, unknown>;

/** A valid config to break one field at a time. */
function base(): Json {
  return JSON.parse(DESIGN_EXAMPLE) as Json;
}

/** Sets `value` at a dotted path (creating objects on the way) and returns the config. */
function withValue(path: string, value: unknown, config: Json = base()): Json {
  const keys = path.split('.');
  let node = config;
  for (const key of keys.slice(0, -1)) node = (node[key] ??= {}) as Json;
  node[keys[keys.length - 1]] = value;
  return config;
}

function problemsOf(config: unknown): ConfigProblem[] {
  try {
    parseConfig(JSON.stringify(config), 'config.json');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).kind).toBe('invalid');
    return (err as ConfigError).problems;
  }
  throw new Error('expected the config to be rejected');
}

function parse(config: unknown): HpclabConfig {
  return parseConfig(JSON.stringify(config), 'config.json');
}

describe('configSchema', () => {
  it('accepts the example in docs/ARCHITECTURE.md as written', () => {
    const config = parseConfig(DESIGN_EXAMPLE, 'config.json');
    const testbed = config.clusters.testbed;
    expect('ssh' in testbed && testbed.ssh.port).toBe(2222);
    expect(config.clusters.here).toEqual({ local: true });
    expect(config.profiles?.gpu).toMatchObject({
      cluster: 'testbed',
      gres: 'gpu:1',
      cpus: 2,
      env: { python: '/usr/bin/python3' }
    });
  });

  it('accepts the config scripts/testbed writes, and every optional field', () => {
    const full = {
      clusters: {
        testbed: {
          ssh: {
            host: 'login',
            port: 2222,
            user: 'hpcuser',
            identityFile: 'C:\\Users\\Jane Doe\\.ssh\\id',
            knownHostsFile: '/k',
            proxyJump: 'me@gw1:2200,gw2,[::1]:22',
            maxChannels: 8,
            keepaliveSec: 0,
            agent: false
          },
          poll: { intervalSec: 5, partitionsIntervalSec: 60 }
        },
        local: { local: true, poll: { intervalSec: 30 } }
      },
      profiles: {
        cpu: {
          cluster: 'testbed',
          partition: 'debug,short',
          time: '01:00:00',
          cpus: 1,
          mem: '1G',
          env: { python: '/usr/bin/python3' }
        },
        full: {
          cluster: 'local',
          gres: 'gpu:a100:2,shard:1',
          time: '2-12',
          mem: '512',
          account: 'proj_1',
          qos: 'normal',
          constraint: 'a100&ib',
          nodelist: 'node[01-04],gpu7',
          sbatch: { 'mail-type': 'END', licenses: 'fluent:1', exclusive: '' },
          command: ['jupyter', 'lab', '--no-browser']
        }
      },
      defaults: { cluster: 'testbed', profile: 'cpu' }
    };
    expect(parse(full)).toEqual(full);
    for (const time of ['30', '30:00', '1-0', '1-00:30', '7-00:00:00', 'UNLIMITED', 'infinite', '0:90:00'])
      expect(() => parse(withValue('profiles.gpu.time', time))).not.toThrow();
    for (const mem of ['4g', '512m', '1T', '0']) expect(() => parse(withValue('profiles.gpu.mem', mem))).not.toThrow();
    expect(() => parse(withValue('clusters.testbed.ssh.proxyJump', 'none'))).not.toThrow();
  });

  it.each([
    ['clusters.testbed.ssh.port', '22x', 'expected an integer from 1 to 65535, got "22x"'],
    ['clusters.testbed.ssh.port', 0, 'expected an integer from 1 to 65535, got 0'],
    ['clusters.testbed.ssh.port', 22.5, 'expected an integer from 1 to 65535, got 22.5'],
    ['clusters.testbed.ssh.host', '-oProxyCommand=touch x', 'not starting with "-"'],
    ['clusters.testbed.ssh.host', 'two words', 'no spaces'],
    ['clusters.testbed.ssh.host', 'a\nb', 'got "a\\nb"'],
    ['clusters.testbed.ssh.user', 'Robert; rm', 'expected a user name'],
    ['clusters.testbed.ssh.proxyJump', 'gw:70000', 'comma-separated list of [user@]host[:port]'],
    ['clusters.testbed.ssh.proxyJump', '-J evil', 'comma-separated list'],
    ['clusters.testbed.ssh.maxChannels', 101, 'from 1 to 100'],
    ['clusters.testbed.ssh.keepaliveSec', -1, 'from 0 (off) to 3600'],
    ['clusters.testbed.ssh.agent', 'yes', 'expected true or false'],
    ['clusters.testbed.poll.intervalSec', 1, 'at least 5'],
    ['clusters.testbed.poll.partitionsIntervalSec', '60', 'at least 5, got "60"'],
    ['clusters.here.local', false, 'expected true'],
    ['profiles.gpu.partition', 'gpu partition', 'Slurm partition name'],
    ['profiles.gpu.time', '1:2:3:4', 'Slurm time limit'],
    [
      'profiles.gpu.time',
      '1h',
      'expected a Slurm time limit (minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS, UNLIMITED or INFINITE), got "1h"'
    ],
    ['profiles.gpu.mem', '4GB', 'memory size'],
    ['profiles.gpu.gres', 'gpu:1;rm', 'GRES'],
    ['profiles.gpu.cpus', 0, 'expected a whole number of CPUs from 1 to 10000, got 0'],
    ['profiles.gpu.cpus', 10_001, 'from 1 to 10000'],
    ['profiles.gpu.partition', 'gpu,,batch', 'Slurm partition name'],
    ['profiles.gpu.constraint', '(a100|v100', 'Slurm constraint'],
    ['profiles.gpu.constraint', '!a100', 'Slurm constraint'],
    ['profiles.gpu.nodelist', 'c[1-4', 'Slurm node list'],
    ['profiles.gpu.account', '-A', 'account'],
    ['profiles.gpu.command', [], 'argv of the server to start'],
    ['profiles.gpu.command', 'jupyter lab', 'argv of the server to start'],
    ['profiles.gpu.sbatch', { 'mail-type': 'END\n#SBATCH --x' }, 'on one line'],
    ['profiles.gpu.env.setup', 'module load x', 'array of shell lines'],
    ['defaults', 'testbed', 'expected an object'],
    ['profiles', [], 'object of profiles by name']
  ])('%s = %j is rejected naming the field', (path, value, message) => {
    const problems = problemsOf(withValue(path, value));
    const field = path === 'profiles.gpu.sbatch' ? 'profiles.gpu.sbatch.mail-type' : path;
    expect(problems).toEqual([{ path: field, message: expect.stringContaining(message) }]);
  });

  it('says a required field is missing', () => {
    const config = base();
    delete ((config.clusters as Json).testbed as { ssh: Json }).ssh.host;
    expect(problemsOf(config)).toEqual([
      { path: 'clusters.testbed.ssh.host', message: expect.stringMatching(/^missing: expected a host name/) }
    ]);
    expect(problemsOf({})).toEqual([{ path: 'clusters', message: expect.stringMatching(/^missing/) }]);
  });

  it('rejects names that are not plain names, naming the key', () => {
    expect(problemsOf(withValue('clusters.my cluster', { local: true }))).toEqual([
      { path: 'clusters["my cluster"]', message: expect.stringContaining('got "my cluster"') }
    ]);
    expect(problemsOf(withValue('profiles.-x', { cluster: 'here' }))[0].path).toBe('profiles["-x"]');
  });

  it.each([
    ['', 'x', 'unknown key "x" (allowed: clusters, profiles, defaults)'],
    ['clusters.testbed', 'sshh', 'unknown key "sshh" (allowed: ssh, poll, venvRoots, runsDir, nodeChannels, pathMap)'],
    ['clusters.here', 'host', 'unknown key "host" (allowed: local, poll, venvRoots, runsDir, nodeChannels, pathMap)'],
    [
      'clusters.testbed.ssh',
      'Port',
      'unknown key "Port" (allowed: host, port, user, identityFile, knownHostsFile, proxyJump, maxChannels, keepaliveSec, agent)'
    ],
    ['clusters.testbed.poll', 'interval', 'unknown key "interval" (allowed: intervalSec, partitionsIntervalSec)'],
    [
      'profiles.gpu',
      'foo',
      'unknown key "foo" (allowed: cluster, partition, gres, time, cpus, mem, account, qos, constraint, nodelist, sbatch, env, kernelHoldMinutes, kernels, idleMinutes, workspace, checkpoint, command)'
    ],
    ['profiles.gpu.env', 'setup_', 'unknown key "setup_" (allowed: python, setup)'],
    ['defaults', 'clusters', 'unknown key "clusters" (allowed: cluster, profile)']
  ])('lists an unknown key at %j with the allowed keys', (at, key, message) => {
    const config = base();
    const object = at ? (withValue(`${at}.${key}`, 1, config), config) : Object.assign(config, { [key]: 1 });
    expect(problemsOf(object)).toEqual([{ path: at ? `${at}.${key}` : key, message }]);
  });

  it('reports each of several unknown keys on its own line', () => {
    const config = withValue('profiles.gpu.foo', 1);
    withValue('profiles.gpu.bar', 2, config);
    expect(problemsOf(config).map(p => p.path)).toEqual(['profiles.gpu.foo', 'profiles.gpu.bar']);
  });

  it('reports every problem at once, with one line each in the message', () => {
    const config = withValue('clusters.testbed.ssh.port', '22x');
    withValue('profiles.gpu.cluster', 'tb', config);
    withValue('profiles.gpu.extra', true, config);
    try {
      parseConfig(JSON.stringify(config), 'config.json');
      throw new Error('not rejected');
    } catch (err) {
      expect((err as Error).message.split('\n')).toEqual([
        'config.json: clusters.testbed.ssh.port: expected an integer from 1 to 65535, got "22x"',
        expect.stringMatching(
          /^config\.json: profiles\.gpu\.extra: unknown key "extra" \(allowed: cluster, partition, /
        ),
        'config.json: profiles.gpu.cluster: unknown cluster "tb" (known clusters: testbed, here)'
      ]);
    }
  });

  describe('cluster shapes', () => {
    it('needs exactly one of local and ssh', () => {
      expect(problemsOf(withValue('clusters.here', {}))).toEqual([
        { path: 'clusters.here', message: 'pick one of local, ssh (found no keys)' }
      ]);
      expect(problemsOf(withValue('clusters.here', { local: true, ssh: { host: 'h' } }))).toEqual([
        { path: 'clusters.here', message: 'pick one of local, ssh (found local and ssh)' }
      ]);
      expect(problemsOf(withValue('clusters.here', 'localhost'))).toEqual([
        { path: 'clusters.here', message: 'expected a cluster with one of: local, ssh, got "localhost"' }
      ]);
    });
  });

  describe('env shapes', () => {
    const envOf = (env: unknown): EnvConfig | undefined => parse(withValue('profiles.gpu.env', env)).profiles?.gpu.env;

    it.each<[string, unknown]>([
      ['python', { python: 'python3', setup: ['export PYTHONUNBUFFERED=1', ''] }],
      ['conda by name', { conda: 'torch-2.3' }],
      [
        'conda by prefix, with python',
        { conda: '/scratch/me/envs/torch', python: '/scratch/me/envs/torch/bin/python' }
      ],
      ['venv', { venv: '/home/me/venvs/lab', setup: ['module load gcc/12'] }],
      ['modules + python', { modules: ['python/3.11', 'cuda/12.2', 'gcc@12'], python: 'python3.11' }],
      [
        'container',
        { container: { runtime: 'apptainer', image: 'docker://python:3.12', bind: ['/scratch:/scratch:ro'] } }
      ],
      [
        'charliecloud',
        {
          container: { runtime: 'charliecloud', image: '/var/tmp/img', python: '/usr/bin/python3' },
          setup: ['export X=1']
        }
      ]
    ])('accepts %s', (_name, env) => {
      expect(envOf(env)).toEqual(env);
    });

    it.each<[unknown, string, string]>([
      [
        { conda: 'x', venv: '/y' },
        'profiles.gpu.env',
        'pick one of python, conda, venv, modules, container (found conda and venv)'
      ],
      [
        { python: 'python3', venv: '/v' },
        'profiles.gpu.env',
        'pick one of python, conda, venv, modules, container (found python and venv)'
      ],
      [
        { python: 'python3', container: { runtime: 'apptainer', image: 'i' } },
        'profiles.gpu.env',
        'pick one of python, conda, venv, modules, container'
      ],
      [{}, 'profiles.gpu.env', 'pick one of python, conda, venv, modules, container (found no keys)'],
      [{ kind: 'conda' }, 'profiles.gpu.env', 'pick one of python, conda, venv, modules, container (found "kind")'],
      [{ venv: '~/venvs/lab' }, 'profiles.gpu.env.venv', '"~" is not expanded'],
      [{ modules: [] }, 'profiles.gpu.env.modules', 'non-empty array'],
      [{ modules: ['ok', '-bad'] }, 'profiles.gpu.env.modules[1]', 'module name'],
      [{ conda: 'base', extra: 1 }, 'profiles.gpu.env.extra', 'unknown key "extra" (allowed: conda, python, setup)'],
      [{ python: 'python3', setup: ['echo a\necho b'] }, 'profiles.gpu.env.setup[0]', 'no NUL, CR or newline'],
      [{ python: 'python3', setup: ['echo a\r'] }, 'profiles.gpu.env.setup[0]', 'no NUL, CR or newline'],
      [
        { container: { runtime: 'docker', image: 'x' } },
        'profiles.gpu.env.container.runtime',
        'one of apptainer, singularity, charliecloud, got "docker"'
      ],
      [{ container: { runtime: 'apptainer' } }, 'profiles.gpu.env.container.image', 'missing: expected an image'],
      [
        { container: { runtime: 'apptainer', image: 'i', tag: 'x' } },
        'profiles.gpu.env.container.tag',
        'unknown key "tag" (allowed: runtime, image, python, bind)'
      ]
    ])('rejects %j at %s', (env, path, message) => {
      expect(problemsOf(withValue('profiles.gpu.env', env))).toEqual([
        { path, message: expect.stringContaining(message) }
      ]);
    });
  });

  describe('references between fields', () => {
    it('names profiles.<p>.cluster and lists the known clusters', () => {
      expect(problemsOf(withValue('profiles.gpu.cluster', 'tesbed'))).toEqual([
        { path: 'profiles.gpu.cluster', message: 'unknown cluster "tesbed" (known clusters: testbed, here)' }
      ]);
    });

    it('checks defaults.cluster and defaults.profile', () => {
      expect(problemsOf(withValue('defaults', { cluster: 'nope', profile: 'cpu' }))).toEqual([
        { path: 'defaults.cluster', message: 'unknown cluster "nope" (known clusters: testbed, here)' },
        { path: 'defaults.profile', message: 'unknown profile "cpu" (known profiles: gpu)' }
      ]);
    });

    it('refuses sbatch options hpclab owns or that have a profile field', () => {
      expect(
        problemsOf(
          withValue('profiles.gpu.sbatch', { 'job-name': 'x', partition: 'p', 'Mail-Type': 'END', output: '%x.%j.out' })
        )
      ).toEqual([
        { path: 'profiles.gpu.sbatch.job-name', message: expect.stringContaining('hpclab names the job') },
        { path: 'profiles.gpu.sbatch.partition', message: expect.stringContaining('use the profile\'s "partition"') },
        { path: 'profiles.gpu.sbatch.Mail-Type', message: expect.stringContaining('sbatch long option name') },
        { path: 'profiles.gpu.sbatch.output', message: expect.stringContaining("to the session's log") }
      ]);
    });
  });
});

describe('venvRoots (where kernels discover looks for venvs)', () => {
  test('takes absolute and ~/ paths on either kind of cluster', () => {
    const config = parse(withValue('clusters.testbed.venvRoots', ['~/venvs', '/project/me/envs']));
    expect(config.clusters.testbed.venvRoots).toEqual(['~/venvs', '/project/me/envs']);
  });

  test.each([[['venvs']], [['~user/envs']], [['/a\nb']], ['~/venvs']])('refuses %j naming the field', value => {
    const problems = problemsOf(withValue('clusters.testbed.venvRoots', value));
    expect(problems.map(p => p.path)[0]).toMatch(/^clusters\.testbed\.venvRoots/);
  });
});
