import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EnvConfig } from '../../../server/config/schema';
import { renderEnvActivation } from '../../../server/sessions/env-activation';
import { quoteWord } from '../../../server/transport/quote';

const EVERY_KIND: Record<string, EnvConfig | undefined> = {
  none: undefined,
  python: { python: '/usr/bin/python3' },
  conda: { conda: 'torch', setup: ['export OMP_NUM_THREADS=1'] },
  venv: { venv: '/work/me/venv/' },
  modules: { modules: ['cuda/12.2', 'python/3.11'], python: 'python3.11' },
  apptainer: { container: { runtime: 'apptainer', image: '/img/py.sif', bind: ['/scratch', '/data:/data:ro'] } },
  singularity: { container: { runtime: 'singularity', image: 'docker://python:3.12', python: 'python3.12' } },
  charliecloud: { container: { runtime: 'charliecloud', image: '/var/tmp/img', bind: ['/scratch'] } }
};

/** bash -n: parses without running. */
function bashSyntax(text: string): { status: number | null; stderr: string } {
  const r = spawnSync('bash', ['-n'], { input: text, encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr };
}

/** Every occurrence of `value` in `text` is inside its quoted form. */
function onlyQuoted(text: string, value: string): boolean {
  const count = (s: string) => text.split(s).length - 1;
  return count(value) > 0 && count(value) === count(quoteWord(value));
}

describe('renderEnvActivation', () => {
  it.each(Object.entries(EVERY_KIND))('%s: valid bash, PYTHONUNBUFFERED first, no CR', (_kind, env) => {
    const { lines } = renderEnvActivation(env, { gpu: true });
    expect(lines[0]).toBe('export PYTHONUNBUFFERED=1');
    const text = lines.join('\n');
    expect(text).not.toMatch(/\r/);
    expect(bashSyntax(text)).toEqual({ status: 0, stderr: '' });
  });

  it('says how to run python in each kind', () => {
    const python = (env: EnvConfig | undefined, gpu = false) => renderEnvActivation(env, { gpu }).python;
    expect(python(undefined)).toEqual(['python3']);
    expect(python(EVERY_KIND.python)).toEqual(['/usr/bin/python3']);
    expect(python(EVERY_KIND.conda)).toEqual(['python3']);
    expect(python(EVERY_KIND.venv)).toEqual(['/work/me/venv/bin/python']);
    expect(python(EVERY_KIND.modules)).toEqual(['python3.11']);
    expect(python(EVERY_KIND.apptainer, true)).toEqual([
      'apptainer',
      'exec',
      '--nv',
      '--bind',
      '/scratch',
      '--bind',
      '/data:/data:ro',
      '/img/py.sif',
      'python3'
    ]);
    expect(python(EVERY_KIND.apptainer, false)).toEqual([
      'apptainer',
      'exec',
      '--bind',
      '/scratch',
      '--bind',
      '/data:/data:ro',
      '/img/py.sif',
      'python3'
    ]);
    expect(python(EVERY_KIND.singularity, true)).toEqual([
      'singularity',
      'exec',
      '--nv',
      'docker://python:3.12',
      'python3.12'
    ]);
    // ch-run gets the home directory and the working directory where it runs (see env-activation.ts).
    const chRunHere = ['bash', '-c', 'exec ch-run --home -c "$PWD" "$@"'];
    expect(python(EVERY_KIND.charliecloud, true)).toEqual([
      ...chRunHere,
      'ch-run',
      '-b',
      '/scratch',
      '/var/tmp/img',
      '--',
      'python3'
    ]);
    expect(renderEnvActivation(EVERY_KIND.charliecloud).exec).toEqual([
      ...chRunHere,
      'ch-run',
      '-b',
      '/scratch',
      '/var/tmp/img',
      '--'
    ]);
    expect(renderEnvActivation(EVERY_KIND.conda).exec).toEqual([]);
  });

  it('quotes every user value: a hostile conda name, venv path or module stays one quoted word', () => {
    const evil = 'my env; rm -rf ~';
    const cases: [EnvConfig, string][] = [
      [{ conda: evil }, evil],
      [{ venv: `/x/${evil}` }, `/x/${evil}/bin/activate`],
      [{ modules: [evil] }, evil],
      [{ python: `/p/${evil}` }, `/p/${evil}`]
    ];
    for (const [env, value] of cases) {
      const text = renderEnvActivation(env).lines.join('\n');
      expect(onlyQuoted(text, value)).toBe(true);
      expect(bashSyntax(text).status).toBe(0);
    }
  });

  it('keeps setup lines verbatim, after the activation, and refuses CR, LF and NUL in them', () => {
    const { lines } = renderEnvActivation({ venv: '/v', setup: ['cd "$SCRATCH"', 'export A=1'] });
    expect(lines.indexOf('cd "$SCRATCH"')).toBeGreaterThan(lines.indexOf("source '/v/bin/activate'"));
    expect(lines).toContain('export A=1');
    for (const bad of ['echo hi\r', 'a\nb', 'x\0']) {
      expect(() => renderEnvActivation({ python: 'python3', setup: [bad] })).toThrow(/setup\[0\].*one line/);
    }
    expect(() => renderEnvActivation({ conda: 'a\nb' })).toThrow(/one line/);
  });

  describe('run by bash in a clean environment', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'hpclab-env-'));
      mkdirSync(join(dir, 'bin'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    function run(env: EnvConfig, extraEnv: Record<string, string> = {}) {
      const script = renderEnvActivation(env).lines.join('\n') + '\necho ACTIVATED\n';
      return spawnSync('/bin/bash', ['-c', script], {
        encoding: 'utf8',
        env: { PATH: `${join(dir, 'bin')}:/usr/bin:/bin`, HOME: dir, ...extraEnv }
      });
    }

    function stub(path: string, body: string) {
      writeFileSync(path, `#!/bin/bash\n${body}\n`);
      chmodSync(path, 0o755);
    }

    it('conda: sources the hook of the conda on PATH and activates the env by its exact name', () => {
      const calls = join(dir, 'calls');
      stub(
        join(dir, 'bin', 'conda'),
        `[ "$1 $2" = "shell.bash hook" ] && echo 'conda() { printf "%s|" "$@" >> ${calls}; echo >> ${calls}; }'`
      );
      const r = run({ conda: 'my env; rm -rf ~', python: '/usr/bin/python3' });
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe('ACTIVATED\n');
      expect(readFileSync(calls, 'utf8')).toBe('activate|my env; rm -rf ~|\n');
    });

    it('conda: exits 3 with a message when there is no conda at all', () => {
      const r = run({ conda: 'torch' });
      expect(r.status).toBe(3);
      expect(r.stderr).toMatch(/^hpclab: conda not found/);
    });

    it('modules: makes `module` a function from $MODULESHOME/init/bash, then loads the modules', () => {
      const calls = join(dir, 'calls');
      mkdirSync(join(dir, 'modules', 'init'), { recursive: true });
      writeFileSync(join(dir, 'modules', 'init', 'bash'), `module() { printf "%s|" "$@" >> ${calls}; }\n`);
      const r = run(
        { modules: ['cuda/12.2', 'a b'], python: '/usr/bin/python3' },
        { MODULESHOME: join(dir, 'modules') }
      );
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe('ACTIVATED\n');
      expect(readFileSync(calls, 'utf8')).toBe('load|cuda/12.2|a b|');
    });

    it('venv: a missing activate script and a missing python exit 3 with messages', () => {
      const missing = run({ venv: join(dir, 'nope') });
      expect(missing.status).toBe(3);
      expect(missing.stderr).toMatch(/no venv activate script at .*nope\/bin\/activate/);
      const noPython = run({ python: join(dir, 'no-python') });
      expect(noPython.status).toBe(3);
      expect(noPython.stderr).toMatch(/python .*no-python not found/);
    });

    it('container: a missing runtime exits 3 (after setup, which may load it)', () => {
      const r = run({ container: { runtime: 'apptainer', image: '/i.sif' }, setup: ['echo SETUP'] });
      expect(r.stdout).toBe('SETUP\n');
      expect(r.status).toBe(3);
      expect(r.stderr).toMatch(/container runtime apptainer not found/);
    });
  });
});
