import { ConfigError, parseConfig, type ConfigProblem } from '../../../server/config/load';

/*
 * Config values that fuzzing found slipping through or garbling a message: "__proto__" as a
 * name (zod dropped it without a word), "." and ".." in environment paths and names, and JSON
 * syntax errors that quoted the file's control characters raw into a one-line message.
 */

const SOURCE = 'config.json';

function refusal(text: string): ConfigError {
  try {
    parseConfig(text, SOURCE);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).kind).toBe('invalid');
    return err as ConfigError;
  }
  throw new Error(`expected ${text} to be refused`);
}

const paths = (problems: ConfigProblem[]) => problems.map(p => p.path);

/** A config whose one profile (`gpu`) has `profile` merged in. */
function withProfile(profile: Record<string, unknown>): string {
  return JSON.stringify({ clusters: { here: { local: true } }, profiles: { gpu: { cluster: 'here', ...profile } } });
}

describe('"__proto__" as a name is refused at its path, not dropped', () => {
  // Written as text: in an object literal `__proto__` sets the prototype instead of a key.
  test.each([
    ['a cluster', '{"clusters": {"here": {"local": true}, "__proto__": {"local": true}}}', 'clusters.__proto__'],
    ['the only cluster', '{"clusters": {"__proto__": {"local": true}}}', 'clusters.__proto__'],
    [
      'a profile',
      '{"clusters": {"here": {"local": true}}, "profiles": {"__proto__": {"cluster": "here"}}}',
      'profiles.__proto__'
    ],
    [
      'an sbatch option',
      '{"clusters": {"here": {"local": true}}, "profiles": {"gpu": {"cluster": "here", "sbatch": {"__proto__": "x"}}}}',
      'profiles.gpu.sbatch.__proto__'
    ]
  ])('%s', (_what, text, path) => {
    const err = refusal(text);
    expect(paths(err.problems)).toContain(path);
    expect(err.message).toContain(`${SOURCE}: ${path}: `);
  });

  test('the same names without "__proto__" load', () => {
    const config = parseConfig(
      '{"clusters": {"here": {"local": true}}, "profiles": {"gpu": {"cluster": "here", "sbatch": {"mail-type": "END"}}}}',
      SOURCE
    );
    expect(Object.keys(config.clusters)).toEqual(['here']);
    expect(config.profiles?.gpu.sbatch).toEqual({ 'mail-type': 'END' });
  });
});

describe('a JSON syntax error is reported on one line, control characters escaped', () => {
  test.each([
    ['a newline, an escape sequence and a CR', '{"clusters":\n\u001b[31mred\r\n}'],
    ['a bell and a NUL', '{"clusters": \u0007\u0000}'],
    ['a C1 control and Unicode line separators', '{"clusters": \u009b\u2028\u2029}'],
    ['a DEL', '{"clusters":\u007f}']
  ])('%s', (_what, text) => {
    const err = refusal(text);
    expect(err.problems).toHaveLength(1);
    expect(err.message).toMatch(new RegExp(`^${SOURCE}: invalid JSON at line \\d+, column \\d+: `));
    expect(err.message).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
    expect(err.problems[0].message).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
  });

  test('what V8 quotes is kept, escaped', () => {
    const err = refusal('{"clusters":\n\u001b[31mred}');
    // V8 (Node 20 and later) quotes the text around the error.
    expect(err.message).toContain('\\n\\u001b[31mred');
  });
});

describe('"." and ".." in environment paths and names are refused naming the field', () => {
  test.each([
    ['env.venv', { venv: '/home/me/../other/venv' }],
    ['env.venv', { venv: '/home/me/./venv' }],
    ['env.venv', { venv: '/home/me/venv/..' }],
    ['env.venv', { venv: '/..' }],
    ['env.venv', { venv: '/.' }],
    ['env.python', { python: '/usr/bin/../../tmp/python3' }],
    ['env.python', { python: '/usr/./bin/python3' }],
    ['env.python', { python: '.' }],
    ['env.python', { python: '..' }],
    ['env.conda', { conda: '.' }],
    ['env.conda', { conda: '..' }],
    ['env.conda', { conda: '/opt/conda/envs/../../etc' }],
    ['env.conda', { conda: '/opt/conda/envs/.' }],
    ['env.python', { conda: 'base', python: '..' }],
    ['env.python', { modules: ['python/3.11'], python: '/opt/../python3' }]
  ])('%s in %j', (field, env) => {
    const err = refusal(withProfile({ env }));
    const path = `profiles.gpu.${field}`;
    expect(paths(err.problems)).toEqual([path]);
    expect(err.message).toContain(`${SOURCE}: ${path}: `);
    expect(err.message).toMatch(/without "\." or "\.\." parts/);
  });

  test.each([
    { venv: '/home/me/.venv' },
    { venv: '/home/me/venvs/py3.11' },
    { venv: '/home/me/...' },
    { venv: '/home/me/..venv/x' },
    { python: '/usr/bin/python3' },
    { python: 'python3.11' },
    { python: '.python' },
    { conda: 'base' },
    { conda: 'my.env' },
    { conda: '...' },
    { conda: '/opt/conda/envs/.hidden' }
  ])('still accepts %j', env => {
    expect(parseConfig(withProfile({ env }), SOURCE).profiles?.gpu.env).toEqual(env);
  });
});
