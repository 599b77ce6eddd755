import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError, getCluster, getProfile, loadConfig, parseConfig } from '../../../server/config/load';

const VALID = '{"clusters": {"here": {"local": true}}, "profiles": {"cpu": {"cluster": "here"}}}';

function thrown(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

async function rejected(promise: Promise<unknown>): Promise<ConfigError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('parseConfig', () => {
  it('reports JSON syntax errors with line and column', () => {
    const err = thrown(() => parseConfig('{"clusters": {\n  "here": {"local": true},\n}}', '/etc/x.json'));
    expect(err.kind).toBe('invalid');
    expect(err.problems).toHaveLength(1);
    expect(err.message).toMatch(/^\/etc\/x\.json: invalid JSON at line 3, column 1: /);
    expect(err.message).not.toMatch(/position/);
  });

  it('reports a truncated file at its end, and an empty one', () => {
    expect(thrown(() => parseConfig('{"clusters": {}', 'c.json')).message).toMatch(
      /^c\.json: invalid JSON at line 1, column 16: /
    );
    expect(thrown(() => parseConfig('', 'c.json')).message).toMatch(/^c\.json: invalid JSON at line 1, column 1: /);
  });

  it('accepts a byte-order mark (Windows editors)', () => {
    expect(parseConfig('\uFEFF' + VALID, 'c.json').clusters.here).toEqual({ local: true });
  });

  it('rejects a top level that is not an object', () => {
    const err = thrown(() => parseConfig('[]', 'c.json'));
    expect(err.problems).toEqual([{ path: '', message: expect.stringContaining('expected a JSON object') }]);
    expect(err.message).toMatch(/^c\.json: expected a JSON object .*, got an empty array$/);
  });

  it('ignores __proto__ tricks: it is just an unknown key', () => {
    const err = thrown(() => parseConfig('{"clusters": {}, "__proto__": {"polluted": true}}', 'c.json'));
    expect(err.problems).toEqual([{ path: '__proto__', message: expect.stringContaining('unknown key "__proto__"') }]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('loadConfig', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hpclab-load-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads the file from --config and says where it came from', async () => {
    const file = path.join(dir, 'c.json');
    fs.writeFileSync(file, VALID);
    const loaded = await loadConfig({ flag: file, env: { HPCLAB_CONFIG: '/nope' }, homeDir: dir });
    expect(loaded).toEqual({ config: JSON.parse(VALID), path: file, source: 'flag' });
  });

  it('finds ~/.config/hpclab/config.json by default', async () => {
    fs.mkdirSync(path.join(dir, '.config', 'hpclab'), { recursive: true });
    fs.writeFileSync(path.join(dir, '.config', 'hpclab', 'config.json'), VALID);
    const loaded = await loadConfig({ env: {}, homeDir: dir });
    expect(loaded.source).toBe('default');
    expect(loaded.config.profiles?.cpu.cluster).toBe('here');
  });

  it("is 'missing' when no file exists and none was asked for, and says how to make one", async () => {
    const err = await rejected(loadConfig({ env: { XDG_CONFIG_HOME: path.join(dir, 'xdg') }, homeDir: dir }));
    expect(err.kind).toBe('missing');
    expect(err.configPath).toBe(path.join(dir, 'xdg', 'hpclab', 'config.json'));
    expect(err.message).toContain(path.join(dir, 'xdg', 'hpclab', 'config.json'));
    expect(err.message).toContain("Run 'hpclab init'");
    expect(err.message).toContain('README');
  });

  it("is 'unreadable' when the file asked for does not exist, naming where the name came from", async () => {
    const file = path.join(dir, 'absent.json');
    const fromEnv = await rejected(loadConfig({ env: { HPCLAB_CONFIG: file }, homeDir: dir }));
    expect(fromEnv.kind).toBe('unreadable');
    expect(fromEnv.message).toContain(`config file ${file} (from $HPCLAB_CONFIG) does not exist`);
    const fromFlag = await rejected(loadConfig({ flag: file, env: {}, homeDir: dir }));
    expect(fromFlag.message).toContain('(from --config)');
  });

  it("is 'unreadable' for a directory", async () => {
    const err = await rejected(loadConfig({ flag: dir, env: {}, homeDir: dir }));
    expect(err.kind).toBe('unreadable');
    expect(err.message).toContain(`cannot read config file ${dir}`);
  });

  it("is 'invalid' with the file's path on every line", async () => {
    const file = path.join(dir, 'c.json');
    fs.writeFileSync(file, '{"clusters": {"here": {"local": true, "x": 1, "y": 2}}}');
    const err = await rejected(loadConfig({ flag: file, env: {}, homeDir: dir }));
    expect(err.kind).toBe('invalid');
    expect(err.message.split('\n')).toEqual([
      `${file}: clusters.here.x: unknown key "x" (allowed: local, poll, venvRoots, runsDir, nodeChannels, pathMap)`,
      `${file}: clusters.here.y: unknown key "y" (allowed: local, poll, venvRoots, runsDir, nodeChannels, pathMap)`
    ]);
  });
});

describe('getCluster / getProfile', () => {
  const config = parseConfig(
    '{"clusters": {"a": {"local": true}, "b": {"ssh": {"host": "h"}}}, "profiles": {"p": {"cluster": "b"}}}',
    'c.json'
  );

  it('returns the named entry', () => {
    expect(getCluster(config, 'b')).toEqual({ ssh: { host: 'h' } });
    expect(getProfile(config, 'p')).toEqual({ cluster: 'b' });
  });

  it('lists the known names otherwise', () => {
    const cluster = thrown(() => getCluster(config, 'c'));
    expect(cluster.kind).toBe('unknown-name');
    expect(cluster.message).toBe('unknown cluster "c" (known clusters: a, b)');
    expect(thrown(() => getProfile(config, 'toString')).message).toBe('unknown profile "toString" (known profiles: p)');
    expect(thrown(() => getProfile({ clusters: {} }, 'p')).message).toBe(
      'unknown profile "p" (no profiles are configured)'
    );
  });
});
