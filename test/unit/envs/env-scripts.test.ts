import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { EnvPlan } from '../../../server/envs/env-input';
import {
  createArgv,
  ipykernelCheckArgv,
  parseTarget,
  pipInstallArgv,
  prepareArgv,
  rollbackArgv
} from '../../../server/envs/env-scripts';

const plan: EnvPlan = {
  cluster: 'c',
  name: 'a',
  profile: 'p',
  path: "~/envs/it's $(x)",
  kind: 'venv',
  python: 'python3',
  systemSitePackages: true
};

describe('the rendered argv', () => {
  it('passes the path only as a positional parameter of a fixed bash script', () => {
    const argv = prepareArgv(plan);
    expect(argv.slice(0, 2)).toEqual(['bash', '-c']);
    expect(argv.slice(3)).toEqual(['bash', "~/envs/it's $(x)"]);
    expect(argv[2]).not.toContain('$(x)');
    expect(argv[2]).toContain('exec 2>&1');
    expect(argv[2]).toContain("command -v 'python3' >/dev/null 2>&1 || { printf 'hpclab: python %s not found");
  });

  it('makes the venv with the asked python, --system-site-packages, and the directory as the last word', () => {
    const argv = createArgv(plan, '/home/u/envs/a b');
    expect(argv.slice(3)).toEqual(['bash', 'python3', '-m', 'venv', '--system-site-packages', '/home/u/envs/a b']);
    expect(argv[2].split('\n').at(-1)).toBe('exec "$@"');
  });

  it('makes a conda env with conda create --prefix, checking for conda instead of python', () => {
    const argv = createArgv({ ...plan, kind: 'conda', systemSitePackages: false }, '/h/a');
    expect(argv.slice(3)).toEqual([
      'bash',
      'conda',
      'create',
      '--yes',
      '--prefix',
      '/h/a',
      'python',
      'pip',
      'ipykernel'
    ]);
    expect(argv[2]).toContain('command -v conda');
    expect(argv[2]).not.toContain('python %s not found');
  });

  it('loads the module (as a job script would) before every step, quoting its name', () => {
    const withModule = { ...plan, module: 'python/3.11' };
    for (const argv of [
      prepareArgv(withModule),
      createArgv(withModule, '/h/a'),
      ipykernelCheckArgv(withModule, '/h/a')
    ])
      expect(argv[2]).toContain("module load python/3.11 || { printf 'hpclab: module load failed");
    // The env's own python is what later steps check and run.
    expect(ipykernelCheckArgv(withModule, '/h/a')[2]).toContain("command -v '/h/a/bin/python'");
    const conda = prepareArgv({ ...withModule, kind: 'conda' })[2];
    expect(conda).toContain('module load python/3.11');
    expect(conda).not.toContain('python %s not found');
  });

  it('runs pip from the env, without questions or progress bars', () => {
    expect(pipInstallArgv(plan, '/h/a', { file: '/h/a/hpclab-requirements.txt' }).slice(3)).toEqual([
      'bash',
      '/h/a/bin/python',
      '-m',
      'pip',
      'install',
      '--disable-pip-version-check',
      '--no-input',
      '--progress-bar',
      'off',
      '-r',
      '/h/a/hpclab-requirements.txt'
    ]);
    expect(ipykernelCheckArgv(plan, '/h/a').slice(-3)).toEqual(['/h/a/bin/python', '-c', 'import ipykernel']);
  });

  it('parses the target line and refuses anything else', () => {
    expect(parseTarget('noise\nhpclab-env\t0\t/home/u/a b\n')).toEqual({ dir: '/home/u/a b', existed: false });
    expect(parseTarget('hpclab-env\t1\t/x\n')).toEqual({ dir: '/x', existed: true });
    expect(parseTarget('hpclab-env\t2\t/x\n')).toBeUndefined();
    expect(parseTarget('hpclab-env\t0\trelative\n')).toBeUndefined();
    expect(parseTarget('')).toBeUndefined();
  });
});

describe('the scripts, run by bash here', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hpclab-envs-'));
  });
  afterEach(() => fs.rm(dir, { recursive: true, force: true }));

  const run = (argv: string[], env: Record<string, string> = {}) => {
    try {
      return {
        code: 0,
        out: execFileSync(argv[0], argv.slice(1), { encoding: 'utf8', env: { ...process.env, ...env } })
      };
    } catch (err) {
      const e = err as { status: number; stdout: string };
      return { code: e.status, out: e.stdout };
    }
  };

  it('resolves ~/ against $HOME, makes the directory, and says it did not exist', () => {
    const r = run(prepareArgv({ ...plan, path: "~/envs/it's $(x)" }), { HOME: dir });
    expect(r.code).toBe(0);
    expect(parseTarget(r.out)).toEqual({ dir: path.join(dir, "envs/it's $(x)"), existed: false });
  });

  it('takes an empty directory, refuses a non-empty one (10) and a file (11)', async () => {
    await fs.mkdir(path.join(dir, 'empty'));
    expect(parseTarget(run(prepareArgv({ ...plan, path: path.join(dir, 'empty') })).out)).toEqual({
      dir: path.join(dir, 'empty'),
      existed: true
    });
    await fs.writeFile(path.join(dir, 'empty', 'x'), '');
    expect(run(prepareArgv({ ...plan, path: path.join(dir, 'empty') }))).toMatchObject({
      code: 10,
      out: expect.stringContaining('exists and is not empty')
    });
    expect(run(prepareArgv({ ...plan, path: path.join(dir, 'empty', 'x') })).code).toBe(11);
  });

  it('says when the python is missing (3), before making anything', () => {
    const r = run(prepareArgv({ ...plan, python: 'no-such-python3', path: path.join(dir, 'a') }));
    expect(r.code).toBe(3);
    expect(r.out).toContain('python no-such-python3 not found');
  });

  it('rolls back: removes a directory it made, empties one that was there, refuses a relative path', async () => {
    await fs.mkdir(path.join(dir, 'made', 'bin'), { recursive: true });
    expect(run(rollbackArgv(path.join(dir, 'made'), false)).code).toBe(0);
    await expect(fs.stat(path.join(dir, 'made'))).rejects.toThrow(/ENOENT/);
    await fs.mkdir(path.join(dir, 'kept', '.hidden'), { recursive: true });
    await fs.writeFile(path.join(dir, 'kept', 'pyvenv.cfg'), '');
    expect(run(rollbackArgv(path.join(dir, 'kept'), true)).code).toBe(0);
    expect(await fs.readdir(path.join(dir, 'kept'))).toEqual([]);
    expect(run(rollbackArgv('relative', false)).code).toBe(2);
    expect(run(rollbackArgv('/', false)).code).toBe(2);
  });
});
