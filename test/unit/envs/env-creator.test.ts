import { execFileSync } from 'node:child_process';
import { promises as fs, readdirSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { configSchema } from '../../../server/config/schema';
import { EnvCreateError, EnvCreator, type EnvProgress } from '../../../server/envs/env-creator';
import { EnvInputError } from '../../../server/envs/env-input';
import { listKernelspecs } from '../../../server/kernels/kernelspec';
import { KernelspecService } from '../../../server/kernels/kernelspec-service';
import { LocalTransport } from '../../../server/transport/local';
import { makeTinyWheel } from './tiny-wheel';

/*
 * The whole create, run for real by the local transport in a temp dir: python3 -m venv, pip
 * installing a wheel made here (there is no package index), the kernelspec written, and the
 * rollback when a step fails. When the check for ipykernel starts, a stub ipykernel module is
 * put into the new venv, standing in for a cluster python whose site-packages have it (this
 * machine's python3 need not): there is no index to install the real one from.
 */
jest.setTimeout(120_000);

/** Puts an empty `ipykernel` module into the venv at `dir` (its lib/pythonX.Y/site-packages). */
function stubIpykernel(dir: string): void {
  const lib = path.join(dir, 'lib');
  for (const version of readdirSync(lib)) writeFileSync(path.join(lib, version, 'site-packages', 'ipykernel.py'), '');
}

describe('EnvCreator on the local transport', () => {
  let tmp: string;
  let kernels: string;
  let transport: LocalTransport;
  let creator: EnvCreator;
  const config = configSchema.parse({ clusters: { here: { local: true } }, profiles: { p: { cluster: 'here' } } });

  beforeEach(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'hpclab-envs-'));
    kernels = path.join(tmp, 'kernels');
    transport = new LocalTransport('here');
    creator = new EnvCreator({
      config,
      transport: () => transport,
      kernelspecs: new KernelspecService({ config, kernelsDir: kernels, hpclab: ['node', '/opt/hpclab/main.js'] })
    });
  });
  afterEach(async () => {
    await transport.close();
    await fs.rm(tmp, { recursive: true, force: true });
  });

  async function create(request: Parameters<EnvCreator['plan']>[0], signal?: AbortSignal) {
    const events: EnvProgress[] = [];
    const dir = creator.plan(request).path;
    const made = creator.create(creator.plan(request), {
      onProgress: e => {
        events.push(e);
        if (
          e.type === 'step' &&
          e.step === 'ipykernel' &&
          events.filter(x => x.type === 'step' && x.step === 'ipykernel').length === 1
        )
          stubIpykernel(dir);
      },
      signal
    });
    return { made, events };
  }

  it('makes the venv, installs the requirements with pip, and registers it as kernels add --env does', async () => {
    const wheel = makeTinyWheel(tmp, 'hpclab_tiny', 'ANSWER = 42\n');
    const dir = path.join(tmp, 'envs', 'ok');
    const { made, events } = await create({
      cluster: 'here',
      name: 'ok',
      path: dir,
      systemSitePackages: true,
      requirements: `${wheel}\n`
    });
    const result = await made;
    expect(result).toMatchObject({
      cluster: 'here',
      name: 'ok',
      kind: 'venv',
      path: dir,
      env: { venv: dir },
      installedIpykernel: false,
      kernelspec: { created: true }
    });
    process.stderr.write(`envs: local venv + one wheel in ${result.seconds} s\n`);
    expect(events.filter(e => e.type === 'step').map(e => e.step)).toEqual([
      'prepare',
      'create',
      'ipykernel',
      'requirements',
      'register'
    ]);
    expect(events).toContainEqual({
      type: 'output',
      step: 'requirements',
      line: expect.stringContaining('Successfully installed hpclab-tiny-0.1')
    });
    const [spec] = await listKernelspecs(kernels);
    expect(spec.name).toBe(result.kernelspec.name);
    expect(JSON.parse(spec.metadata.env!)).toEqual({ venv: dir });
    const kernel = JSON.parse(await fs.readFile(path.join(spec.path, 'kernel.json'), 'utf8'));
    expect(kernel.argv).toEqual([
      'node',
      '/opt/hpclab/main.js',
      'kernel-launch',
      '--profile',
      'p',
      '--env',
      JSON.stringify({ venv: dir }),
      '{connection_file}'
    ]);
    const out = execFileSync(
      path.join(dir, 'bin', 'python'),
      ['-c', 'import sys, hpclab_tiny; print(sys.prefix, hpclab_tiny.ANSWER)'],
      {
        encoding: 'utf8'
      }
    );
    expect(out.trim()).toBe(`${dir} 42`);
    expect(await fs.readFile(path.join(dir, 'hpclab-requirements.txt'), 'utf8')).toBe(`${wheel}\n`);
  });

  it("removes the directory it made and registers nothing when a requirement fails; the error has pip's tail", async () => {
    const dir = path.join(tmp, 'envs', 'bad');
    const { made } = await create({
      cluster: 'here',
      name: 'bad',
      path: dir,
      requirements: `${tmp}/missing-0.1-py3-none-any.whl\n`
    });
    const err = (await made.catch((e: unknown) => e)) as EnvCreateError;
    expect(err).toBeInstanceOf(EnvCreateError);
    expect(err).toMatchObject({ step: 'requirements', rolledBack: true });
    expect(err.message).toMatch(/pip could not install the requirements in here:/);
    expect(err.tail.join('\n')).toMatch(/missing-0\.1-py3-none-any\.whl/);
    await expect(fs.stat(dir)).rejects.toThrow(/ENOENT/);
    expect(await listKernelspecs(kernels)).toEqual([]);
  });

  it('empties, but keeps, an empty directory the user made, when a step fails', async () => {
    const dir = path.join(tmp, 'mine');
    await fs.mkdir(dir);
    const { made, events } = await create({
      cluster: 'here',
      name: 'mine',
      path: dir,
      requirements: '/nonexistent/x.whl\n'
    });
    await expect(made).rejects.toMatchObject({ step: 'requirements', rolledBack: true });
    expect(events).toContainEqual({ type: 'step', step: 'rollback', message: `emptying ${dir} again` });
    expect(await fs.readdir(dir)).toEqual([]);
    expect(await listKernelspecs(kernels)).toEqual([]);
  });

  it('refuses a non-empty target, naming --path, and leaves it alone', async () => {
    const dir = path.join(tmp, 'full');
    await fs.mkdir(dir);
    await fs.writeFile(path.join(dir, 'notes.txt'), 'mine');
    const { made } = await create({ cluster: 'here', name: 'full', path: dir });
    const err = await made.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EnvInputError);
    expect(err).toMatchObject({ field: 'path', message: expect.stringMatching(/exists and is not empty.*--path/) });
    expect(await fs.readdir(dir)).toEqual(['notes.txt']);
  });

  it('stops the running step when aborted, and removes what it made', async () => {
    const dir = path.join(tmp, 'envs', 'stopped');
    const abort = new AbortController();
    const events: EnvProgress[] = [];
    const made = creator.create(creator.plan({ cluster: 'here', name: 'stopped', path: dir }), {
      onProgress: e => {
        events.push(e);
        if (e.type === 'step' && e.step === 'create') abort.abort();
      },
      signal: abort.signal
    });
    await expect(made).rejects.toMatchObject({ step: 'create', reason: 'cancelled' });
    await expect(fs.stat(dir)).rejects.toThrow(/ENOENT/);
    expect(await listKernelspecs(kernels)).toEqual([]);
  });
});
