import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { EnvConfig, ProfileConfig } from '../../../server/config/schema';
import {
  checkKernelName,
  defaultKernelName,
  describeKernel,
  KERNEL_NAME,
  kernelsDir,
  listKernelspecs,
  removeKernelspec,
  writeKernelspec,
  type WriteKernelspecInput
} from '../../../server/kernels/kernelspec';
import { PNG_SIGNATURE } from '../../../server/kernels/logo';

const HOME = '/home/me';

describe('kernelsDir', () => {
  it('takes $JUPYTER_DATA_DIR first, on every platform', () => {
    const env = { JUPYTER_DATA_DIR: '/data/jupyter', XDG_DATA_HOME: '/xdg', APPDATA: 'C:\\AppData' };
    expect(kernelsDir(env, HOME, 'linux')).toBe('/data/jupyter/kernels');
    expect(kernelsDir(env, HOME, 'darwin')).toBe('/data/jupyter/kernels');
    expect(kernelsDir({ ...env, JUPYTER_DATA_DIR: 'D:\\jupyter' }, 'C:\\Users\\me', 'win32')).toBe(
      'D:\\jupyter\\kernels'
    );
  });

  it('Linux: $XDG_DATA_HOME/jupyter when absolute, else ~/.local/share/jupyter', () => {
    expect(kernelsDir({ XDG_DATA_HOME: '/xdg' }, HOME, 'linux')).toBe('/xdg/jupyter/kernels');
    expect(kernelsDir({ XDG_DATA_HOME: 'relative' }, HOME, 'linux')).toBe('/home/me/.local/share/jupyter/kernels');
    expect(kernelsDir({ XDG_DATA_HOME: '' }, HOME, 'freebsd')).toBe('/home/me/.local/share/jupyter/kernels');
    expect(kernelsDir({}, HOME, 'linux')).toBe('/home/me/.local/share/jupyter/kernels');
  });

  it('macOS: ~/Library/Jupyter, whatever XDG says', () => {
    expect(kernelsDir({ XDG_DATA_HOME: '/xdg' }, '/Users/me', 'darwin')).toBe('/Users/me/Library/Jupyter/kernels');
  });

  it("Windows: %APPDATA%\\jupyter, else the config dir's data folder", () => {
    expect(kernelsDir({ APPDATA: 'C:\\Users\\me\\AppData\\Roaming' }, 'C:\\Users\\me', 'win32')).toBe(
      'C:\\Users\\me\\AppData\\Roaming\\jupyter\\kernels'
    );
    expect(kernelsDir({}, 'C:\\Users\\me', 'win32')).toBe('C:\\Users\\me\\.jupyter\\data\\kernels');
  });
});

describe('kernel names', () => {
  it.each(['hpclab-testbed-gpu', 'a', '0', 'x.y_z-1', 'a'.repeat(64)])('accepts %j', name => {
    expect(checkKernelName(name)).toBe(name);
  });

  it.each([
    ['../x', /try "x"/],
    ['a/b', /try "a-b"/],
    ['Ab', /try "ab"/],
    ['', /give a kernel name/],
    ['a'.repeat(65), /at most 64 characters/],
    ['a\x00b', /"a\\u0000b"/],
    ['a\nb', /"a\\nb"/],
    ['.', /starting with a letter or digit/],
    ['..', /--name:/],
    ['-x', /--name:/],
    ['a\\b', /--name:/],
    ['a b', /--name:/]
  ])('refuses %j with a message naming --name and the fix', (name, message) => {
    expect(() => checkKernelName(name)).toThrow(/^--name: /);
    expect(() => checkKernelName(name)).toThrow(message);
  });

  it('defaultKernelName: readable, stable, with an env hash only when an env is given', () => {
    expect(defaultKernelName('testbed', 'gpu')).toBe('hpclab-testbed-gpu');
    expect(defaultKernelName('testbed', 'gpu')).toBe(defaultKernelName('testbed', 'gpu'));
    const torch = defaultKernelName('testbed', 'gpu', 'conda:torch');
    expect(torch).toMatch(/^hpclab-testbed-gpu-[0-9a-f]{8}$/);
    expect(defaultKernelName('testbed', 'gpu', 'conda:torch')).toBe(torch);
    expect(defaultKernelName('testbed', 'gpu', 'conda:jax')).not.toBe(torch);
    expect(defaultKernelName('testbed', 'gpu', '')).toBe('hpclab-testbed-gpu');
  });

  it('defaultKernelName: sanitizes, and keeps names apart that sanitizing would merge', () => {
    const upper = defaultKernelName('HPC', 'GPU');
    expect(upper).toMatch(/^hpclab-hpc-gpu-[0-9a-f]{6}$/);
    expect(upper).not.toBe(defaultKernelName('hpc', 'gpu'));
    expect(defaultKernelName('hpc', 'my profile/../x')).toMatch(KERNEL_NAME);
    const long = defaultKernelName('c'.repeat(64), 'p'.repeat(64), 'env');
    expect(long).toMatch(KERNEL_NAME);
    expect(long).not.toBe(defaultKernelName('c'.repeat(64), 'q'.repeat(64), 'env'));
  });
});

describe('describeKernel', () => {
  const show = (profile: Omit<ProfileConfig, 'cluster'>, env?: EnvConfig, cluster = 'mycluster') =>
    describeKernel({ cluster, profileName: 'prof', profile: { cluster, ...profile }, env });

  it.each<[Omit<ProfileConfig, 'cluster'>, string]>([
    [{ gres: 'gpu:a100:1', time: '02:00:00' }, 'Python 3 · GPU 1× A100 · 2 h · mycluster'],
    [{ gres: 'gpu:1', time: '01:00:00', cpus: 2 }, 'Python 3 · 1 GPU · 1 h · mycluster'],
    [{ gres: 'gpu:4', time: '2-00:00:00' }, 'Python 3 · 4 GPUs · 2 d · mycluster'],
    [{ gres: 'gpu:a100:2,gpu:v100:1', time: '1-12:00:00' }, 'Python 3 · GPU 2× A100 + 1× V100 · 1 d 12 h · mycluster'],
    [{ cpus: 4, time: '30', env: { conda: 'torch' } }, 'Python 3 (conda torch) · 4 CPUs · 30 min · mycluster'],
    [{ cpus: 1, time: '90:00' }, 'Python 3 · 1 CPU · 1 h 30 min · mycluster'],
    [{ gres: 'shard:2', cpus: 8, time: 'UNLIMITED' }, 'Python 3 · 8 CPUs · no time limit · mycluster'],
    [{ time: '0:45' }, 'Python 3 · 45 s · mycluster'],
    [{}, 'Python 3 · prof · mycluster'],
    [{ partition: 'debug' }, 'Python 3 · prof · mycluster']
  ])('%j → %s', (profile, expected) => {
    expect(show(profile)).toBe(expected);
  });

  it('names the environment briefly', () => {
    expect(show({}, { python: '/opt/py/bin/python3.11' })).toMatch(/^Python 3\.11 · /);
    expect(show({}, { conda: '/scratch/me/envs/jax', python: 'python3.12' })).toMatch(/^Python 3\.12 \(conda jax\) · /);
    expect(show({}, { venv: '/home/me/proj/.venv' })).toMatch(/^Python 3 \(venv proj\) · /);
    expect(show({}, { venv: '/work/me/myenv/' })).toMatch(/^Python 3 \(venv myenv\) · /);
    expect(show({}, { modules: ['python/3.11', 'cuda/12.2'] })).toMatch(/^Python 3 \(module python\/3\.11 \+1\) · /);
    expect(show({}, { container: { runtime: 'apptainer', image: '/img/torch.sif' } })).toMatch(
      /^Python 3 \(apptainer torch\) · /
    );
    expect(show({}, { container: { runtime: 'singularity', image: 'docker://python:3.12' } })).toMatch(
      /^Python 3 \(singularity python:3\.12\) · /
    );
  });

  it("an explicit env wins over the profile's", () => {
    expect(show({ cpus: 2, env: { conda: 'base' } }, { conda: 'torch' }, 'hpc')).toBe(
      'Python 3 (conda torch) · 2 CPUs · hpc'
    );
  });
});

describe('kernelspec files', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hpclab-kernelspec-'));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const input = (over: Partial<WriteKernelspecInput> = {}): WriteKernelspecInput => ({
    dir,
    name: 'hpclab-testbed-gpu',
    argv: ['/usr/bin/hpclab', 'kernel-launch', '--profile', 'gpu', '{connection_file}'],
    displayName: 'Python 3 · 1 GPU · 1 h · testbed',
    language: 'python',
    metadata: { profile: 'gpu', cluster: 'testbed' },
    ...over
  });
  const readJson = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8'));
  /** A kernelspec as ipykernel would install it; `null`: a directory without kernel.json. */
  const foreign = (
    name: string,
    kernelJson: string | null = JSON.stringify({
      argv: ['python3', '-m', 'ipykernel_launcher', '-f', '{connection_file}'],
      display_name: 'Python 3',
      language: 'python',
      metadata: { debugger: true }
    })
  ) => {
    fs.mkdirSync(path.join(dir, name), { recursive: true });
    if (kernelJson !== null) fs.writeFileSync(path.join(dir, name, 'kernel.json'), kernelJson);
  };

  it('writes kernel.json with interrupt_mode "message" and metadata.hpclab, and the three logos', async () => {
    const specDir = await writeKernelspec(
      input({ metadata: { profile: 'gpu', cluster: 'testbed', env: 'conda:torch' } })
    );
    expect(specDir).toBe(path.join(dir, 'hpclab-testbed-gpu'));
    expect(readJson(path.join(specDir, 'kernel.json'))).toEqual({
      argv: ['/usr/bin/hpclab', 'kernel-launch', '--profile', 'gpu', '{connection_file}'],
      display_name: 'Python 3 · 1 GPU · 1 h · testbed',
      language: 'python',
      interrupt_mode: 'message',
      metadata: { debugger: true, hpclab: { profile: 'gpu', cluster: 'testbed', env: 'conda:torch', version: 1 } }
    });
    expect(fs.readdirSync(specDir).sort()).toEqual(['kernel.json', 'logo-32x32.png', 'logo-64x64.png', 'logo-svg.svg']); // no temp files left
    for (const png of ['logo-32x32.png', 'logo-64x64.png'])
      expect(fs.readFileSync(path.join(specDir, png)).subarray(0, 8)).toEqual(PNG_SIGNATURE);
    expect(fs.readFileSync(path.join(specDir, 'logo-svg.svg'), 'utf8')).toMatch(/^<svg /);
  });

  it('write → list → update → remove', async () => {
    expect(await listKernelspecs(path.join(dir, 'not-yet'))).toEqual([]);
    await writeKernelspec(input({ name: 'hpclab-b' }));
    await writeKernelspec(input({ name: 'hpclab-a', metadata: { profile: 'cpu', cluster: 'here', env: 'venv:/x' } }));
    foreign('python3');
    foreign('broken', '{not json');
    foreign('empty-dir', null);
    fs.writeFileSync(path.join(dir, 'stray-file'), 'x');

    const listed = await listKernelspecs(dir);
    expect(listed.map(k => k.name)).toEqual(['hpclab-a', 'hpclab-b']);
    expect(listed[0]).toEqual({
      name: 'hpclab-a',
      displayName: 'Python 3 · 1 GPU · 1 h · testbed',
      argv: input().argv,
      language: 'python',
      metadata: { profile: 'cpu', cluster: 'here', env: 'venv:/x', version: 1 },
      path: path.join(dir, 'hpclab-a')
    });

    await writeKernelspec(input({ name: 'hpclab-b', displayName: 'Python 3 · 2 GPUs · 4 h · testbed' }));
    expect((await listKernelspecs(dir)).find(k => k.name === 'hpclab-b')?.displayName).toBe(
      'Python 3 · 2 GPUs · 4 h · testbed'
    );
    expect(fs.readdirSync(path.join(dir, 'hpclab-b')).filter(f => f.endsWith('.tmp'))).toEqual([]);

    expect(await removeKernelspec(dir, 'hpclab-b')).toBe(path.join(dir, 'hpclab-b'));
    expect(fs.existsSync(path.join(dir, 'hpclab-b'))).toBe(false);
    expect((await listKernelspecs(dir)).map(k => k.name)).toEqual(['hpclab-a']);
    expect(fs.existsSync(path.join(dir, 'python3', 'kernel.json'))).toBe(true);
  });

  it('refuses to overwrite or remove a kernelspec hpclab did not write, and says which', async () => {
    foreign('python3');
    foreign('broken', '{not json');
    foreign('other-files', null);
    fs.writeFileSync(path.join(dir, 'other-files', 'notes.txt'), 'mine');
    for (const name of ['python3', 'broken', 'other-files']) {
      await expect(writeKernelspec(input({ name }))).rejects.toThrow(
        `refusing to overwrite kernelspec "${name}" at ${path.join(dir, name)}`
      );
      await expect(removeKernelspec(dir, name)).rejects.toThrow(`refusing to remove kernelspec "${name}"`);
      expect(fs.existsSync(path.join(dir, name))).toBe(true);
    }
    await expect(writeKernelspec(input({ name: 'python3' }))).rejects.toThrow('no metadata.hpclab');
    expect(readJson(path.join(dir, 'python3', 'kernel.json')).display_name).toBe('Python 3');
    expect(fs.readdirSync(path.join(dir, 'python3'))).toEqual(['kernel.json']);
  });

  it('takes over a directory a stopped write left behind (logos, no kernel.json)', async () => {
    foreign('hpclab-x', null);
    fs.writeFileSync(path.join(dir, 'hpclab-x', 'logo-32x32.png'), 'partial');
    fs.writeFileSync(path.join(dir, 'hpclab-x', '.kernel.json.123.abc.tmp'), '{');
    await writeKernelspec(input({ name: 'hpclab-x' }));
    expect(readJson(path.join(dir, 'hpclab-x', 'kernel.json')).metadata.hpclab.profile).toBe('gpu');
  });

  it('an unknown name points to `hpclab kernels list`; bad names and argv are refused before touching the disk', async () => {
    await expect(removeKernelspec(dir, 'nope')).rejects.toThrow('`hpclab kernels list` shows the names');
    await expect(removeKernelspec(dir, '../x')).rejects.toThrow(/^--name: /);
    await expect(writeKernelspec(input({ name: '../escape' }))).rejects.toThrow(/^--name: /);
    await expect(writeKernelspec(input({ argv: ['hpclab', 'kernel-launch'] }))).rejects.toThrow('{connection_file}');
    await expect(writeKernelspec(input({ displayName: ' ' }))).rejects.toThrow('display name');
    expect(fs.readdirSync(dir)).toEqual([]);
    expect(fs.existsSync(path.join(path.dirname(dir), 'escape'))).toBe(false);
  });
});
