import * as fs from 'node:fs';
import { promises as fsPromises } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { configPath, ensurePrivateDir, statePaths, writePrivateFileAtomic } from '../../../server/config/paths';

const HOME = '/home/me';

describe('configPath', () => {
  const env = { HPCLAB_CONFIG: '/env/c.json', XDG_CONFIG_HOME: '/xdg' };

  it('takes --config first, then $HPCLAB_CONFIG, then $XDG_CONFIG_HOME, then ~/.config', () => {
    expect(configPath({ flag: '/flag/c.json', env, homeDir: HOME })).toEqual({ path: '/flag/c.json', source: 'flag' });
    expect(configPath({ env, homeDir: HOME })).toEqual({ path: '/env/c.json', source: 'env' });
    expect(configPath({ env: { XDG_CONFIG_HOME: '/xdg' }, homeDir: HOME })).toEqual({
      path: '/xdg/hpclab/config.json',
      source: 'xdg'
    });
    expect(configPath({ env: {}, homeDir: HOME })).toEqual({
      path: '/home/me/.config/hpclab/config.json',
      source: 'default'
    });
  });

  it('ignores empty values and a relative $XDG_CONFIG_HOME (the XDG spec says so)', () => {
    expect(configPath({ flag: '', env: { HPCLAB_CONFIG: '', XDG_CONFIG_HOME: 'rel' }, homeDir: HOME }).source).toBe(
      'default'
    );
  });

  it('expands ~/ and resolves relative paths', () => {
    expect(configPath({ flag: '~/c.json', env: {}, homeDir: HOME }).path).toBe('/home/me/c.json');
    expect(configPath({ env: { HPCLAB_CONFIG: '~/e.json' }, homeDir: HOME }).path).toBe('/home/me/e.json');
    expect(configPath({ flag: 'c.json', env: {}, homeDir: HOME }).path).toBe(path.resolve('c.json'));
  });
});

describe('statePaths', () => {
  it('uses the XDG directories when set', () => {
    expect(statePaths({ XDG_STATE_HOME: '/s', XDG_RUNTIME_DIR: '/run/user/1000' }, HOME)).toEqual({
      stateDir: '/s/hpclab',
      runtimeDir: '/run/user/1000/hpclab'
    });
  });

  it('falls back to ~/.local/state/hpclab and its run/ directory', () => {
    expect(statePaths({}, HOME)).toEqual({
      stateDir: '/home/me/.local/state/hpclab',
      runtimeDir: '/home/me/.local/state/hpclab/run'
    });
    expect(statePaths({ XDG_STATE_HOME: 'relative' }, HOME).stateDir).toBe('/home/me/.local/state/hpclab');
  });
});

const mode = (p: string) => fs.statSync(p).mode & 0o777;

describe('private files and directories', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hpclab-paths-'));
  });
  afterEach(() => {
    jest.restoreAllMocks();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('ensurePrivateDir creates missing directories 0700 and tightens an existing one', async () => {
    const nested = path.join(dir, 'a', 'b', 'c');
    expect(await ensurePrivateDir(nested)).toBe(nested);
    expect(mode(nested)).toBe(0o700);
    expect(mode(path.join(dir, 'a'))).toBe(0o700 & ~process.umask());
    fs.chmodSync(nested, 0o755);
    await ensurePrivateDir(nested);
    expect(mode(nested)).toBe(0o700);
  });

  it('ensurePrivateDir refuses a regular file', async () => {
    const file = path.join(dir, 'f');
    fs.writeFileSync(file, 'x');
    await expect(ensurePrivateDir(file)).rejects.toThrow(file);
  });

  it('ensurePrivateDir refuses a directory owned by another user', async () => {
    // As root, give a directory away; as anyone else, root's own /var/empty-like dirs are theirs.
    const root = process.getuid?.() === 0;
    const theirs = root ? path.join(dir, 'theirs') : '/usr/share';
    if (root) {
      fs.mkdirSync(theirs, { mode: 0o777 });
      fs.chownSync(theirs, 12345, 12345);
    }
    const before = mode(theirs);
    await expect(ensurePrivateDir(theirs)).rejects.toThrow(
      root ? /refusing to use .*theirs: it is owned by uid 12345/ : /refusing to use/
    );
    expect(mode(theirs)).toBe(before);
  });

  it('writePrivateFileAtomic writes a 0600 file and replaces an existing one', async () => {
    const file = path.join(dir, 'session.json');
    fs.writeFileSync(file, 'old', { mode: 0o644 });
    await writePrivateFileAtomic(file, '{"new": true}');
    expect(fs.readFileSync(file, 'utf8')).toBe('{"new": true}');
    expect(mode(file)).toBe(0o600);
    await writePrivateFileAtomic(file, Buffer.from('bytes'));
    expect(fs.readFileSync(file, 'utf8')).toBe('bytes');
    expect(fs.readdirSync(dir)).toEqual(['session.json']);
  });

  it('fails naming the path when the parent is a regular file, creating nothing', async () => {
    const parent = path.join(dir, 'not-a-dir');
    fs.writeFileSync(parent, 'keep');
    const target = path.join(parent, 'state.json');
    await expect(writePrivateFileAtomic(target, 'x')).rejects.toThrow(`cannot write ${target}`);
    expect(fs.readFileSync(parent, 'utf8')).toBe('keep');
    expect(fs.readdirSync(dir)).toEqual(['not-a-dir']);
  });

  it('leaves the old file intact and removes the temp file when the rename fails', async () => {
    const file = path.join(dir, 'state.json');
    fs.writeFileSync(file, 'old');
    // Running as root, permissions cannot make rename fail; make it fail the way a full or
    // read-only filesystem would.
    const rename = jest
      .spyOn(fsPromises, 'rename')
      .mockRejectedValueOnce(Object.assign(new Error('EROFS: read-only file system'), { code: 'EROFS' }));
    const err = await writePrivateFileAtomic(file, 'new').catch((e: NodeJS.ErrnoException) => e);
    expect(rename).toHaveBeenCalledTimes(1);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toBe(`cannot write ${file}: EROFS: read-only file system`);
    expect((err as NodeJS.ErrnoException).code).toBe('EROFS');
    expect(fs.readFileSync(file, 'utf8')).toBe('old');
    expect(fs.readdirSync(dir)).toEqual(['state.json']);
  });

  it('leaves the target intact when it is a directory (rename cannot replace it)', async () => {
    const target = path.join(dir, 'state.json');
    fs.mkdirSync(target);
    fs.writeFileSync(path.join(target, 'inside'), 'keep');
    await expect(writePrivateFileAtomic(target, 'x')).rejects.toThrow(`cannot write ${target}`);
    expect(fs.readFileSync(path.join(target, 'inside'), 'utf8')).toBe('keep');
    expect(fs.readdirSync(dir)).toEqual(['state.json']);
  });
});
