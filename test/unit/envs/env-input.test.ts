import { ConfigError } from '../../../server/config/load';
import { configSchema } from '../../../server/config/schema';
import { EnvInputError, kernelEnvOf, planEnv, resolveTarget } from '../../../server/envs/env-input';

const config = configSchema.parse({
  clusters: { hpc: { local: true, venvRoots: ['/project/me/envs/', '~/venvs'] }, other: { local: true } },
  profiles: {
    gpu: { cluster: 'hpc', partition: 'gpu' },
    cpu: { cluster: 'hpc' },
    lone: { cluster: 'other' }
  },
  defaults: { profile: 'gpu' }
});

/** The field and words an EnvInputError carries, or what else was thrown. */
function refusal(request: Parameters<typeof planEnv>[1]): { field: string; message: string } {
  try {
    planEnv(config, request);
  } catch (err) {
    if (err instanceof EnvInputError) return { field: err.field, message: err.message };
    throw err;
  }
  throw new Error('not refused');
}

describe('planEnv', () => {
  it('fills in the defaults: python3, a venv under the first venvRoots entry, the default profile', () => {
    expect(planEnv(config, { cluster: 'hpc', name: 'analysis' })).toEqual({
      cluster: 'hpc',
      name: 'analysis',
      profile: 'gpu',
      path: '/project/me/envs/analysis',
      kind: 'venv',
      python: 'python3',
      systemSitePackages: false
    });
  });

  it('takes the cluster from the profile, and the only profile of a cluster', () => {
    expect(planEnv(config, { name: 'a', profile: 'cpu' })).toMatchObject({ cluster: 'hpc', profile: 'cpu' });
    expect(planEnv(config, { name: 'a', cluster: 'other' })).toMatchObject({
      cluster: 'other',
      profile: 'lone',
      path: '~/.venvs/a'
    });
  });

  it('keeps the asked path, without trailing slashes, and the flags', () => {
    expect(
      planEnv(config, {
        cluster: 'hpc',
        name: 'a',
        path: '~/envs/a/',
        module: 'python/3.11',
        python: '/opt/py/bin/python3.11',
        systemSitePackages: true,
        requirements: 'numpy\n'
      })
    ).toMatchObject({
      path: '~/envs/a',
      module: 'python/3.11',
      python: '/opt/py/bin/python3.11',
      systemSitePackages: true,
      requirements: 'numpy\n'
    });
  });

  it('drops requirements that are only blank lines', () => {
    expect(planEnv(config, { cluster: 'hpc', name: 'a', requirements: ' \n\n' }).requirements).toBeUndefined();
  });

  it.each([
    ['a name with a space', { name: 'my env' }, 'name', /letters, digits/],
    ['a name starting with a dot', { name: '.hidden' }, 'name', /starting with a letter or digit/],
    ['a name with a slash', { name: 'a/b' }, 'name', /not a usable name/],
    ['a name with a newline', { name: 'a\nb' }, 'name', /not a usable name/],
    ['a relative path', { name: 'a', path: 'envs/a' }, 'path', /absolute path or one starting with "~\/"/],
    ['a path with ..', { name: 'a', path: '/scratch/../etc' }, 'path', /without "\." or "\.\." parts/],
    ['a path with a control character', { name: 'a', path: '/scratch/a\tb' }, 'path', /control characters/],
    ['a bare ~/', { name: 'a', path: '~/' }, 'path', /a directory of its own/],
    ['the root', { name: 'a', path: '/' }, 'path', /a directory of its own/],
    ['a python with a space', { name: 'a', python: 'python3 -c x' }, 'python', /absolute path .* or a command name/],
    ['a relative python', { name: 'a', python: 'bin/python' }, 'python', /absolute path/],
    ['a module with a semicolon', { name: 'a', module: 'python;rm' }, 'module', /module name/],
    ['conda with a python', { name: 'a', conda: true, python: 'python3' }, 'python', /conda brings its own python/],
    [
      'conda with system site-packages',
      { name: 'a', conda: true, systemSitePackages: true },
      'systemSitePackages',
      /only for venvs/
    ],
    ['requirements with NUL', { name: 'a', requirements: 'a\0b' }, 'requirements', /NUL/]
  ])('refuses %s, naming the field and the fix', (_what, request, field, message) => {
    const r = refusal({ cluster: 'hpc', ...request });
    expect(r.field).toBe(field);
    expect(r.message).toMatch(message);
  });

  it('refuses a default path that the venvRoots entry makes unusable, naming venvRoots', () => {
    const odd = configSchema.parse({
      clusters: { c: { local: true, venvRoots: ['/a/../b'] } },
      profiles: { p: { cluster: 'c' } }
    });
    expect(() => planEnv(odd, { name: 'x' })).toThrow(/venvRoots\[0\] of cluster c/);
  });

  it('says which profiles to pick from when a cluster has several and no default fits', () => {
    const two = configSchema.parse({
      clusters: { c: { local: true } },
      profiles: { p: { cluster: 'c' }, q: { cluster: 'c' } }
    });
    expect(() => resolveTarget(two, {})).toThrow(/one of p, q/);
    const none = configSchema.parse({ clusters: { c: { local: true } } });
    expect(() => resolveTarget(none, {})).toThrow(/no profile runs on cluster c/);
  });

  it('lets unknown cluster and profile names through as ConfigErrors (404 in the API)', () => {
    expect(() => planEnv(config, { name: 'a', cluster: 'nope' })).toThrow(ConfigError);
    expect(() => planEnv(config, { name: 'a', profile: 'nope' })).toThrow(ConfigError);
  });
});

describe('kernelEnvOf', () => {
  it('registers a venv as {venv}, a conda env as {conda}, and a module-made env with its module', () => {
    expect(kernelEnvOf({ kind: 'venv' }, '/home/u/.venvs/a')).toEqual({ venv: '/home/u/.venvs/a' });
    expect(kernelEnvOf({ kind: 'conda' }, '/home/u/.venvs/a')).toEqual({ conda: '/home/u/.venvs/a' });
    expect(kernelEnvOf({ kind: 'venv', module: 'python/3.11' }, '/home/u/a')).toEqual({
      modules: ['python/3.11'],
      python: '/home/u/a/bin/python'
    });
  });
});
