import fc from 'fast-check';
import { ConfigError, formatPath, parseConfig } from '../../server/config/load';
import {
  BAIT_ENDINGS,
  BAIT_PIECES,
  canaryTouched,
  CONTRACTS as C,
  type Contract,
  FUZZ_RUNS,
  FuzzTally,
  FUZZ_TEST_TIMEOUT_MS,
  fuzzParams,
  hasShellSyntax,
  hostileJson,
  hostileString,
  hugeString,
  pathKeys,
  show,
  SLOW_CASE_MS,
  spliceJson,
  valueAt,
  wrongJsonType,
  type HostileJson
} from './fuzz-support';

/*
 * Hostile values in config.json, one field at a time, and whole files of garbage. parseConfig
 * must either accept a value the field may hold (and keep it unchanged) or throw a ConfigError
 * whose message names the file and the field, one line per problem. Any other exception, or a
 * line break, NUL or shell syntax accepted where the value reaches a command line, fails.
 */

jest.setTimeout(FUZZ_TEST_TIMEOUT_MS);
const tally = new FuzzTally('config', 'refused with a ConfigError naming the file (and the field)');
const SOURCE = 'fuzzed/config.json';

afterAll(() => tally.print());

type Json = Record<string, unknown>;

/** The docs/ARCHITECTURE.md example ("Config file") with every field set, so each can be broken. */
function base(): Json {
  return {
    clusters: {
      testbed: {
        ssh: {
          host: '127.0.0.1',
          port: 2222,
          user: 'hpcuser',
          identityFile: '/path/id_ed25519',
          knownHostsFile: '/path/known_hosts',
          proxyJump: 'me@gw1:2200',
          maxChannels: 8,
          keepaliveSec: 30,
          agent: true
        },
        poll: { intervalSec: 15, partitionsIntervalSec: 60 },
        venvRoots: ['~/venvs', '/project/envs']
      },
      here: { local: true }
    },
    profiles: {
      gpu: {
        cluster: 'testbed',
        partition: 'gpu',
        gres: 'gpu:1',
        time: '01:00:00',
        cpus: 2,
        mem: '4G',
        account: 'proj_1',
        qos: 'normal',
        constraint: 'a100&ib',
        nodelist: 'c[1-4]',
        sbatch: { 'mail-type': 'END' },
        env: { python: '/usr/bin/python3' },
        command: ['jupyter', 'lab']
      }
    },
    defaults: { cluster: 'testbed', profile: 'gpu' }
  };
}

/** How a field's value is used: as a Slurm/command word (no shell syntax at all), quoted, or not on a command line. */
type Reach = 'word' | 'quoted' | 'none';

interface Field {
  group: string;
  path: string;
  accepts: Contract;
  reach: Reach;
  /** Replaces the profile's env first (another env shape). */
  env?: Json;
}

const P = 'profiles.gpu';
const SSH = 'clusters.testbed.ssh';
const slurm = (['partition', 'gres', 'time', 'mem', 'account', 'qos', 'constraint', 'nodelist'] as const).map(
  (k): Field => ({ group: 'slurm fields', path: `${P}.${k}`, accepts: C[k], reach: 'word' })
);
const container = { container: { runtime: 'apptainer', image: '/images/py.sif', bind: ['/scratch'] } };

const FIELDS: Field[] = [
  ...slurm,
  { group: 'slurm fields', path: `${P}.cpus`, accepts: C.cpus, reach: 'word' },
  { group: 'slurm fields', path: `${P}.sbatch.mail-type`, accepts: C.sbatchValue, reach: 'quoted' },
  {
    group: 'slurm fields',
    path: `${P}.sbatch`,
    accepts: v =>
      typeof v === 'object' &&
      v !== null &&
      !Array.isArray(v) &&
      Object.entries(v).every(([k, x]) => C.sbatchKey(k) && C.sbatchValue(x)),
    reach: 'quoted'
  },
  { group: 'profile', path: `${P}.cluster`, accepts: v => v === 'testbed' || v === 'here', reach: 'none' },
  { group: 'profile', path: `${P}.command`, accepts: C.listOf(C.commandArg, 1), reach: 'quoted' },
  { group: 'profile', path: `${P}.command[0]`, accepts: C.commandArg, reach: 'quoted' },
  { group: 'env', path: `${P}.env`, accepts: () => false, reach: 'quoted' },
  { group: 'env', path: `${P}.env.python`, accepts: C.python, reach: 'quoted' },
  { group: 'env', path: `${P}.env.venv`, accepts: C.venv, reach: 'quoted', env: { venv: '/home/me/venv' } },
  { group: 'env', path: `${P}.env.conda`, accepts: C.conda, reach: 'quoted', env: { conda: 'base' } },
  { group: 'env', path: `${P}.env.modules[0]`, accepts: C.module, reach: 'word', env: { modules: ['python/3.11'] } },
  {
    group: 'env',
    path: `${P}.env.setup[0]`,
    accepts: C.setupLine,
    reach: 'quoted',
    env: { venv: '/v', setup: ['source /etc/profile'] }
  },
  { group: 'env', path: `${P}.env.container.runtime`, accepts: C.runtime, reach: 'word', env: container },
  { group: 'env', path: `${P}.env.container.image`, accepts: C.image, reach: 'quoted', env: container },
  { group: 'env', path: `${P}.env.container.bind[0]`, accepts: C.bind, reach: 'quoted', env: container },
  { group: 'env', path: `${P}.env.container.python`, accepts: C.python, reach: 'quoted', env: container },
  { group: 'ssh', path: `${SSH}.host`, accepts: C.host, reach: 'none' },
  { group: 'ssh', path: `${SSH}.user`, accepts: C.user, reach: 'none' },
  { group: 'ssh', path: `${SSH}.port`, accepts: C.port, reach: 'none' },
  { group: 'ssh', path: `${SSH}.identityFile`, accepts: C.keyFile, reach: 'none' },
  { group: 'ssh', path: `${SSH}.knownHostsFile`, accepts: C.keyFile, reach: 'none' },
  { group: 'ssh', path: `${SSH}.proxyJump`, accepts: C.proxyJump, reach: 'none' },
  { group: 'ssh', path: `${SSH}.maxChannels`, accepts: C.intIn(1, 100), reach: 'none' },
  { group: 'ssh', path: `${SSH}.keepaliveSec`, accepts: C.intIn(0, 3600), reach: 'none' },
  { group: 'ssh', path: `${SSH}.agent`, accepts: v => typeof v === 'boolean', reach: 'none' },
  { group: 'cluster', path: 'clusters.testbed.venvRoots[0]', accepts: C.venvRoot, reach: 'quoted' },
  { group: 'cluster', path: 'clusters.testbed.venvRoots', accepts: C.listOf(C.venvRoot), reach: 'quoted' },
  {
    group: 'cluster',
    path: 'clusters.testbed.poll.intervalSec',
    accepts: v => typeof v === 'number' && Number.isFinite(v) && v >= 5,
    reach: 'none'
  },
  { group: 'cluster', path: 'clusters.here.local', accepts: v => v === true, reach: 'none' },
  { group: 'names', path: 'defaults.cluster', accepts: v => v === 'testbed' || v === 'here', reach: 'none' },
  { group: 'names', path: 'defaults.profile', accepts: v => v === 'gpu', reach: 'none' }
];

interface Outcome {
  config?: Json;
  error?: ConfigError;
}

function parse(text: string): Outcome {
  try {
    return { config: parseConfig(text, SOURCE) as unknown as Json };
  } catch (err) {
    if (!(err instanceof ConfigError))
      throw new Error(
        `parseConfig threw ${(err as Error)?.name ?? typeof err} instead of a ConfigError: ${(err as Error)?.message}`,
        { cause: err }
      );
    return { error: err };
  }
}

/** A ConfigError as the CLI prints it: every line starts with the file, one line per problem, each naming its field. */
function expectNamed(error: ConfigError, context: string, field?: string): void {
  if (error.kind !== 'invalid') throw new Error(`kind ${error.kind}, not invalid: ${context}`);
  if (error.configPath !== SOURCE) throw new Error(`configPath ${show(error.configPath)}: ${context}`);
  const lines = error.message.split('\n');
  if (lines.length !== error.problems.length || !lines.every(l => l.startsWith(`${SOURCE}: `)))
    throw new Error(
      `${error.problems.length} problem(s) but these lines (a value must not break the message into more):\n${error.message.slice(0, 600)}\n${context}`
    );
  if (field === undefined) return;
  const problem = error.problems.find(
    p => p.path === field || p.path.startsWith(`${field}.`) || p.path.startsWith(`${field}[`)
  );
  if (!problem) throw new Error(`no problem names ${field}: ${show(error.problems)}: ${context}`);
  if (!error.message.includes(`${SOURCE}: ${problem.path}: `))
    throw new Error(`the message does not name ${problem.path}: ${context}`);
}

/** What no accepted string may hold anywhere in a config: everything in it ends up in a job script or a command. */
function acceptedStringProblem(value: unknown, reach: Reach): string | undefined {
  for (const s of typeof value === 'string'
    ? [value]
    : Array.isArray(value)
      ? value
      : typeof value === 'object' && value !== null
        ? [...Object.keys(value), ...Object.values(value)]
        : []) {
    if (typeof s !== 'string') continue;
    if (/[\0\r\n]/.test(s)) return 'a NUL, CR or LF';
    if (reach === 'word' && hasShellSyntax(s)) return 'shell syntax in a command word';
  }
  return undefined;
}

function fieldCase(field: Field, hostile: HostileJson): void {
  const doc = base();
  if (field.env) ((doc.profiles as Json).gpu as Json).env = field.env;
  const text = spliceJson(doc, pathKeys(field.path), hostile);
  const context = `${field.path} = ${show(hostile.json)}`;
  const started = Date.now();
  const { config, error } = parse(text);
  const took = Date.now() - started;
  if (took > SLOW_CASE_MS && text.length < 10_000)
    throw new Error(`took ${took} ms (backtracking in a pattern?): ${context}`);
  if (config) {
    if (!field.accepts(hostile.value)) throw new Error(`accepted a value ${field.path} must refuse: ${context}`);
    const bad = acceptedStringProblem(hostile.value, field.reach);
    if (bad) throw new Error(`accepted ${bad}: ${context}`);
    expect([context, valueAt(config, field.path)]).toEqual([context, hostile.value]);
    return tally.record(field.group, 'accepted');
  }
  expectNamed(error as ConfigError, context, field.path);
  tally.record(field.group, 'refused');
}

describe('a hostile value in each field', () => {
  test('the base config is valid', () => {
    expect(parseConfig(JSON.stringify(base()), SOURCE)).toEqual(base());
  });

  test.each(FIELDS.map(f => [f.path, f] as const))('%s', (_path, field) => {
    fc.assert(
      fc.property(hostileJson, hostile => fieldCase(field, hostile)),
      fuzzParams()
    );
  });
});

// Every field, every bait piece and ending, 26 items: a pattern that backtracks exponentially
// takes seconds here (where random cases might only find it at depth), a sound one microseconds.
test('no field takes long to refuse a repeated item (backtracking bait)', () => {
  for (const field of FIELDS)
    for (const piece of BAIT_PIECES)
      for (const end of BAIT_ENDINGS) {
        const value = piece.repeat(26) + end;
        fieldCase(field, { json: JSON.stringify(value), value, kind: 'string' });
      }
});

/** A hostile name for a cluster or profile, as the key of its entry (and in the references to it). */
describe('hostile names', () => {
  const names = fc.oneof(
    hostileString,
    fc.constantFrom(
      '__proto__',
      'constructor',
      'toString',
      'hasOwnProperty',
      '',
      '-x',
      '.',
      '..',
      'a'.repeat(65),
      'gpu ',
      'GPU'
    )
  );
  const cases: [string, (name: string) => { doc: Json; path: string }][] = [
    [
      'cluster',
      name => {
        const doc = base();
        const clusters = doc.clusters as Json;
        delete clusters.here;
        Object.defineProperty(clusters, name, {
          value: { local: true },
          enumerable: true,
          configurable: true,
          writable: true
        });
        return { doc, path: formatPath(['clusters', name]) };
      }
    ],
    [
      'profile',
      name => {
        const doc = base();
        Object.defineProperty(doc.profiles, name, {
          value: { cluster: 'here' },
          enumerable: true,
          configurable: true,
          writable: true
        });
        return { doc, path: formatPath(['profiles', name]) };
      }
    ],
    [
      'sbatch option',
      name => {
        const doc = base();
        ((doc.profiles as Json).gpu as Json).sbatch = Object.defineProperty({}, name, {
          value: 'END',
          enumerable: true
        });
        return { doc, path: formatPath(['profiles', 'gpu', 'sbatch', name]) };
      }
    ]
  ];

  test.each(cases)('%s', (what, make) => {
    fc.assert(
      fc.property(names, name => {
        const { doc, path } = make(name);
        const context = `${what} named ${show(name)}`;
        const { config, error } = parse(JSON.stringify(doc));
        const accepts = what === 'sbatch option' ? C.sbatchKey : C.name;
        if (config) {
          if (!accepts(name)) throw new Error(`accepted: ${context}`);
          const bad = acceptedStringProblem(name, 'word');
          if (bad) throw new Error(`accepted ${bad}: ${context}`);
          return tally.record('names', 'accepted');
        }
        expectNamed(error as ConfigError, context, path);
        tally.record('names', 'refused');
      }),
      fuzzParams()
    );
  });
});

describe('whole files of garbage', () => {
  const valid = JSON.stringify(base(), null, 2);
  const garbage = fc.oneof(
    hostileString,
    fc.uint8Array({ maxLength: 2000 }).map(bytes => Buffer.from(bytes).toString('utf8')),
    fc.uint8Array({ maxLength: 2000 }).map(bytes => Buffer.from(bytes).toString('latin1')),
    fc.integer({ min: 0, max: valid.length - 1 }).map(n => valid.slice(0, n)),
    fc
      .tuple(
        fc.integer({ min: 0, max: valid.length }),
        fc.constantFrom('\u0000', '\r', '\n\n}', ',', '"', '\ufeff', '\ud800', '//', '/*', 'NaN', 'undefined')
      )
      .map(([n, s]) => valid.slice(0, n) + s + valid.slice(n)),
    wrongJsonType.map(v => JSON.stringify(v)),
    hugeString.map(s => `${valid.slice(0, -1)}, ${JSON.stringify(s)}: 1}`),
    hugeString.map(s => s + valid),
    fc.integer({ min: 1, max: 200_000 }).map(n => '['.repeat(n) + ']'.repeat(n)),
    fc.integer({ min: 1, max: 50_000 }).map(n => `{"clusters": {"x": ${'{"a":'.repeat(n)}1${'}'.repeat(n)}}}`),
    fc.constantFrom(
      '',
      ' ',
      '\ufeff',
      '\ufeff\ufeff{}',
      'null',
      '{}',
      '[]',
      '{"clusters": null}',
      '{"clusters": {}, "clusters": []}',
      `{"__proto__": {"clusters": {}}}`,
      '\u0000'.repeat(1000),
      `${valid}\u0000`
    )
  );

  test('a ConfigError naming the file, never another exception', () => {
    fc.assert(
      fc.property(garbage, text => {
        const { config, error } = parse(text);
        if (config) {
          // Only a real config may load: then it is an object of clusters.
          expect(typeof config.clusters).toBe('object');
          return tally.record('whole file', 'accepted');
        }
        expectNamed(error as ConfigError, `file ${show(text)}`);
        tally.record('whole file', 'refused');
      }),
      fuzzParams(FUZZ_RUNS * 3)
    );
  });

  test('nothing ran a shell', () => {
    expect(canaryTouched()).toBe(false);
  });
});
