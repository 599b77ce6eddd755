import { execFile, execFileSync } from 'node:child_process';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { discoveryArgv } from '../../../server/kernels/discovery-script';
import {
  DiscoveryCache,
  DiscoveryError,
  EnvMatchError,
  discoverEnvs,
  matchEnv,
  parseDiscovery,
  type DiscoveredEnv
} from '../../../server/kernels/discovery';
import type { ExecOptions, Transport } from '../../../server/transport/types';

const FIXTURE = join(__dirname, '../../fixtures/kernels/discovery-output.txt');
// The fixture was recorded by this file's script run (HPCLAB_RECORD=1) under this directory.
const RECORD_DIR = '/tmp/hpclab-discovery-fixture';
const PYTHON = '/usr/bin/python3'; // not the first python3 on PATH here, and the one with Debian's ipykernel

/** A venv of PYTHON; by hand (the layout `python -m venv` makes) where Debian lacks python3-venv. */
function makeVenv(dir: string, systemSite: boolean): void {
  try {
    execFileSync(PYTHON, ['-m', 'venv', '--without-pip', ...(systemSite ? ['--system-site-packages'] : []), dir], {
      stdio: 'ignore'
    });
  } catch {
    mkdirSync(join(dir, 'bin'), { recursive: true });
    writeFileSync(join(dir, 'pyvenv.cfg'), `home = /usr/bin\ninclude-system-site-packages = ${systemSite}\n`);
    symlinkSync(PYTHON, join(dir, 'bin', 'python'));
  }
}

function writeExecutable(file: string, text: string): void {
  writeFileSync(file, text);
  chmodSync(file, 0o755);
}

/**
 * A home with what users have: venvs (one with spaces, one two deep, one broken, one named
 * like a conda env), a conda install (a stand-in `conda` printing what `conda env list --json`
 * prints), and an Environment Modules init script whose `module` prints a terse listing.
 */
function buildLayout(root: string): { home: string; env: NodeJS.ProcessEnv } {
  const home = join(root, 'home');
  makeVenv(join(home, 'venvs', 'plain'), false);
  makeVenv(join(home, 'venvs', 'with system site'), true);
  makeVenv(join(home, 'envs', 'projA', 'venv'), true);
  makeVenv(join(home, '.venvs', 'torch'), false);
  mkdirSync(join(home, '.venvs', 'not-a-venv', 'bin'), { recursive: true });
  mkdirSync(join(home, 'venvs', 'broken', 'bin'), { recursive: true });
  writeFileSync(join(home, 'venvs', 'broken', 'pyvenv.cfg'), 'home = /nonexistent\n');
  writeExecutable(join(home, 'venvs', 'broken', 'bin', 'python'), '#!/bin/sh\nexit 1\n');

  const conda = join(home, 'miniforge3');
  for (const env of ['', 'envs/torch']) {
    mkdirSync(join(conda, env, 'bin'), { recursive: true });
    symlinkSync(PYTHON, join(conda, env, 'bin', 'python'));
  }
  mkdirSync(join(conda, 'envs', 'r-only', 'bin'), { recursive: true }); // no python: not a kernel env
  const prefixes = [conda, `${conda}/envs/r-only`, `${conda}/envs/torch`, `${home}/caf\\u00e9`];
  const json = `{\n  "envs": [\n${prefixes.map(p => `    "${p}"`).join(',\n')}\n  ]\n}\n`;
  writeExecutable(join(conda, 'bin', 'conda'), `#!/bin/sh\ncat <<'JSON'\n${json}JSON\n`);

  const modules = join(root, 'Modules');
  mkdirSync(join(modules, 'init'), { recursive: true });
  const avail = [
    '/opt/modulefiles:',
    'python/3.11(default)',
    'python/3.12',
    'gcc/12.2',
    'Anaconda3/2023.09',
    'cuda/12.2',
    'tensorflow/2.15 <L>'
  ];
  writeFileSync(
    join(modules, 'init', 'sh'),
    `module() { printf '%s\\n' ${avail.map(a => `'${a}'`).join(' ')} >&2; }\n`
  );

  mkdirSync(join(root, 'tmp'));
  // No conda on PATH and no $CONDA_EXE: the script must find ~/miniforge3 itself.
  return { home, env: { HOME: home, PATH: '/usr/bin:/bin', TMPDIR: join(root, 'tmp'), MODULESHOME: modules } };
}

/** Default roots plus the absolute form of one, as a caller with overlapping roots would pass. */
const roots = (home: string) => ['~/.venvs', '~/venvs', '~/.virtualenvs', '~/envs', `${home}/venvs/`];

async function runScript(
  argv: string[],
  env: NodeJS.ProcessEnv
): Promise<{ stdout: string; stderr: string; ms: number }> {
  const started = Date.now();
  const { stdout, stderr } = await promisify(execFile)('/bin/sh', argv.slice(1), { env, timeout: 60_000 });
  return { stdout, stderr, ms: Date.now() - started };
}

describe('the discovery script, run locally', () => {
  let root: string;
  let home: string;
  let env: NodeJS.ProcessEnv;
  beforeAll(() => {
    if (process.env.HPCLAB_RECORD) {
      rmSync(RECORD_DIR, { recursive: true, force: true });
      mkdirSync(RECORD_DIR);
    }
    root = process.env.HPCLAB_RECORD ? RECORD_DIR : mkdtempSync(join(tmpdir(), 'hpclab-discovery-'));
    ({ home, env } = buildLayout(root));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('finds conda envs, venvs and modules, and which pythons can import ipykernel', async () => {
    const { stdout, stderr, ms } = await runScript(discoveryArgv({ venvRoots: roots(home) }), env);
    if (process.env.HPCLAB_RECORD) writeFileSync(FIXTURE, stdout);
    expect(stderr).toBe('');
    expect(ms).toBeLessThan(10_000);
    const found = Object.fromEntries(parseDiscovery(stdout).map(e => [`${e.kind}:${e.name}`, e]));
    expect(Object.keys(found).sort()).toEqual([
      'conda:base',
      'conda:torch',
      'module:Anaconda3/2023.09',
      'module:python/3.11',
      'module:python/3.12',
      'module:tensorflow/2.15',
      'venv:broken',
      'venv:plain',
      'venv:projA/venv',
      'venv:torch',
      'venv:with system site'
    ]);
    const version = execFileSync(PYTHON, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], {
      encoding: 'utf8'
    }).trim();
    expect(found['venv:plain']).toMatchObject({
      prefix: `${home}/venvs/plain`,
      python: `${home}/venvs/plain/bin/python`,
      pythonVersion: version,
      ipykernel: false
    });
    expect(found['venv:with system site']).toMatchObject({
      pythonVersion: version,
      ipykernel: true,
      env: { venv: `${home}/venvs/with system site` }
    });
    expect(found['venv:projA/venv']).toMatchObject({ prefix: `${home}/envs/projA/venv`, ipykernel: true });
    expect(found['venv:broken']).toMatchObject({ pythonVersion: null, ipykernel: null });
    expect(found['conda:base']).toMatchObject({
      prefix: `${home}/miniforge3`,
      ipykernel: true,
      env: { conda: `${home}/miniforge3` }
    });
    expect(found['module:python/3.11']).toEqual({
      kind: 'module',
      name: 'python/3.11',
      prefix: null,
      python: null,
      pythonVersion: null,
      ipykernel: null,
      env: { modules: ['python/3.11'] },
      kernels: [],
      brokenKernels: []
    });
    expect(readdirSync(env.TMPDIR!)).toEqual([]); // its scratch directory is gone
  }, 60_000);

  it('skips modules when asked, and roots that do not exist', async () => {
    const { stdout } = await runScript(
      discoveryArgv({ venvRoots: ['~/nowhere', '/nonexistent'], moduleNames: false }),
      env
    );
    expect(parseDiscovery(stdout).map(e => `${e.kind}:${e.name}`)).toEqual(['conda:base', 'conda:torch']);
  }, 60_000);
});

describe('discoveryArgv', () => {
  it('keeps the script fixed and passes user values as positional parameters', () => {
    const a = discoveryArgv({ venvRoots: ['~/venvs'] });
    const b = discoveryArgv({ venvRoots: ["/p/it's $(rm -rf ~)"], moduleNames: false });
    expect(a.slice(0, 2)).toEqual(['sh', '-c']);
    expect(b[2]).toBe(a[2]);
    expect(a.slice(3)).toEqual(['sh', 'modules=1', '~/venvs']);
    expect(b.slice(3)).toEqual(['sh', 'modules=0', "/p/it's $(rm -rf ~)"]);
  });

  it('refuses roots the script could not use', () => {
    expect(() => discoveryArgv({ venvRoots: ['venvs'] })).toThrow(/absolute path/);
    expect(() => discoveryArgv({ venvRoots: ['~user/venvs'] })).toThrow(/absolute path/);
    expect(() => discoveryArgv({ venvRoots: ['/a\tb'] })).toThrow(/tab/);
  });
});

describe('parseDiscovery', () => {
  let text: string;
  let envs: DiscoveredEnv[];
  beforeAll(() => {
    text = readFileSync(FIXTURE, 'utf8');
    envs = parseDiscovery(text);
  });
  const home = `${RECORD_DIR}/home`;

  it('reads recorded output: sorted by kind then name, each prefix once', () => {
    expect(envs.map(e => `${e.kind}:${e.name}`)).toEqual([
      'conda:base',
      'conda:torch',
      'venv:broken',
      'venv:plain',
      'venv:projA/venv',
      'venv:torch',
      'venv:with system site',
      'module:Anaconda3/2023.09',
      'module:python/3.11',
      'module:python/3.12',
      'module:tensorflow/2.15'
    ]);
    // Two roots reach ~/venvs, so the recording lists its venvs twice.
    expect(text.split('\n').filter(l => l.includes(`\t${home}/venvs/plain\t`))).toHaveLength(2);
  });

  it('keeps paths with spaces and the activation config for each kind', () => {
    expect(envs.find(e => e.name === 'with system site')).toEqual({
      kind: 'venv',
      name: 'with system site',
      prefix: `${home}/venvs/with system site`,
      python: `${home}/venvs/with system site/bin/python`,
      pythonVersion: '3.11',
      ipykernel: true,
      env: { venv: `${home}/venvs/with system site` },
      kernels: [],
      brokenKernels: []
    });
    expect(envs.find(e => e.kind === 'conda' && e.name === 'torch')?.env).toEqual({
      conda: `${home}/miniforge3/envs/torch`
    });
  });

  it('ignores banners and malformed lines, keeps the first of a duplicate prefix', () => {
    const noisy = text
      .replace(
        'hpclab-discovery\t1\n',
        'Welcome to the cluster!\nhpclab-discovery\t1\nnot a line we know\nenv\tvenv\trel\trelative/path\trelative/path/bin/python\t3.11\t1\n'
      )
      .replace(
        'end\n',
        `env\tzip\tx\t/x\t/x/bin/python\t3.11\t1\nenv\tvenv\tagain\t${home}/venvs/plain\t/y/bin/python\t3.12\t1\nend\n`
      );
    expect(parseDiscovery(noisy)).toEqual(envs);
  });

  it('refuses output without its header or end', () => {
    expect(() => parseDiscovery('Last login: today\n')).toThrow(DiscoveryError);
    expect(() => parseDiscovery(text.replace('end\n', ''))).toThrow(/cut short/);
  });
});

function fakeTransport(reply: { code: number; stdout?: string; stderr?: string }) {
  const calls: { argv: readonly string[]; options?: ExecOptions }[] = [];
  const transport = {
    cluster: 'testbed',
    exec: async (argv: readonly string[], options?: ExecOptions) => {
      calls.push({ argv, options });
      return { code: reply.code, signal: null, stdout: reply.stdout ?? '', stderr: reply.stderr ?? '' };
    }
  } as unknown as Transport;
  return { transport, calls };
}

describe('discoverEnvs', () => {
  it('asks the cluster once, with the default roots and a time limit', async () => {
    const { transport, calls } = fakeTransport({ code: 0, stdout: readFileSync(FIXTURE, 'utf8') });
    expect(await discoverEnvs(transport, { timeoutMs: 5000 })).toHaveLength(11);
    expect(calls).toHaveLength(1);
    expect(calls[0].argv.slice(3)).toEqual(['sh', 'modules=1', '~/.venvs', '~/venvs', '~/.virtualenvs', '~/envs']);
    expect(calls[0].options).toEqual({ timeoutMs: 5000 });
  });

  it('says why a run failed', async () => {
    const { transport } = fakeTransport({ code: 1, stderr: 'hpclab: cannot create a temporary directory\n' });
    await expect(discoverEnvs(transport)).rejects.toThrow(
      'environment discovery failed on testbed: hpclab: cannot create a temporary directory'
    );
  });
});

describe('matchEnv', () => {
  let envs: DiscoveredEnv[];
  beforeAll(() => (envs = parseDiscovery(readFileSync(FIXTURE, 'utf8'))));
  const home = `${RECORD_DIR}/home`;

  it('finds an env by name, kind:name, prefix or python path', () => {
    expect(matchEnv(envs, 'plain').prefix).toBe(`${home}/venvs/plain`);
    expect(matchEnv(envs, 'python/3.11').kind).toBe('module');
    expect(matchEnv(envs, 'venv:torch').prefix).toBe(`${home}/.venvs/torch`);
    expect(matchEnv(envs, `${home}/miniforge3/envs/torch/`).kind).toBe('conda');
    expect(matchEnv(envs, `${home}/venvs/with system site/bin/python`).name).toBe('with system site');
  });

  it('lists the candidates when a name is ambiguous or unknown', () => {
    expect(() => matchEnv(envs, 'torch')).toThrow(/matches 2 environments.*\n {2}conda:torch \(.*\n {2}venv:torch \(/s);
    let error: unknown;
    try {
      matchEnv(envs, 'tensorflow');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(EnvMatchError);
    expect((error as EnvMatchError).message).toMatch(/^no environment "tensorflow"; found:\n {2}conda:base/);
    expect((error as EnvMatchError).candidates).toHaveLength(11);
    expect(() => matchEnv([], 'x')).toThrow('no environment "x" (discovery found none)');
  });
});

describe('DiscoveryCache', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'hpclab-cache-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  let envs: DiscoveredEnv[];
  beforeAll(() => (envs = parseDiscovery(readFileSync(FIXTURE, 'utf8'))));

  it('gives back what was put, per cluster, until it is too old', async () => {
    let now = 1_000_000;
    const cache = new DiscoveryCache(join(dir, 'state', 'discovery.json'), { now: () => now });
    expect(await cache.get('a', 60_000)).toBeUndefined();
    await cache.put('a', envs);
    await cache.put('b', envs.slice(0, 1));
    now += 60_000;
    expect(await cache.get('a', 60_000)).toEqual(envs);
    expect(await cache.get('b', 60_000)).toEqual(envs.slice(0, 1));
    expect(await cache.get('c', 60_000)).toBeUndefined();
    now += 1;
    expect(await cache.get('a', 60_000)).toBeUndefined();
    now -= 120_000; // the clock went back: an entry from the future is not trusted
    expect(await cache.get('a', 60_000)).toBeUndefined();
  });

  it('writes a private file', async () => {
    const file = join(dir, 'state', 'discovery.json');
    await new DiscoveryCache(file).put('a', envs);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'state')).mode & 0o777).toBe(0o700);
  });

  it('reads an unreadable or foreign file as empty, and replaces it on put', async () => {
    const file = join(dir, 'discovery.json');
    const cache = new DiscoveryCache(file);
    for (const junk of [
      '{not json',
      '{"version": 2, "clusters": {}}',
      '{"version": 1, "clusters": {"a": {"savedAt": 1, "envs": [{"kind": "x"}]}}}'
    ]) {
      writeFileSync(file, junk);
      expect(await cache.get('a', Infinity)).toBeUndefined();
    }
    await cache.put('a', envs);
    expect(await cache.get('a', Infinity)).toEqual(envs);
  });
});
