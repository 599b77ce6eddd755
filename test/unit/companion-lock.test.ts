import { spawn } from 'node:child_process';
import { promises as fs, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ts from 'typescript';
import { claimCompanionLock, lockHolder, releaseCompanionLock } from '../../server/companion-lock';

/**
 * Each starter is told its pid, and `alive` says which pids run. The races run the module in
 * real processes, as launchers start companions: an in-process race interleaves too politely
 * to show the windows (the old lock passed it, and lost one race in four across processes).
 */
describe('companion lock', () => {
  let dir: string;
  let lock: string;
  const DEAD = 999_999;
  const live = new Set<number>();
  const alive = (pid: number) => live.has(pid);

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hpclab-lock-'));
    lock = path.join(dir, 'companion.lock');
    live.clear();
  });
  afterEach(() => fs.rm(dir, { recursive: true, force: true }));

  test('lockHolder names a live owner only', async () => {
    expect(await lockHolder(lock, alive)).toBeUndefined();
    await fs.writeFile(lock, `${DEAD}\n`);
    expect(await lockHolder(lock, alive)).toBeUndefined();
    live.add(4242);
    await fs.writeFile(lock, '4242\n');
    expect(await lockHolder(lock, alive)).toBe(4242);
  });

  /** N starter processes at once; resolves to the pids that won and the owners the losers were told of. */
  async function race(n: number) {
    const module = path.join(dir, 'companion-lock.js');
    const source = readFileSync(path.join(__dirname, '..', '..', 'server', 'companion-lock.ts'), 'utf8');
    await fs.writeFile(
      module,
      ts.transpileModule(source, {
        compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2020 }
      }).outputText
    );
    const starter = `require(${JSON.stringify(module)}).claimCompanionLock(process.argv[1], { pid: Number(process.argv[2]), alive: p => p !== ${DEAD} })
      .then(() => console.log('won'), err => console.log(err.pid ? 'told ' + err.pid : 'error ' + err.message))`;
    const pids = Array.from({ length: n }, (_, i) => 1000 + i);
    const outputs = await Promise.all(
      pids.map(
        pid =>
          new Promise<string>(resolve => {
            let out = '';
            const child = spawn(process.execPath, ['-e', starter, lock, String(pid)]);
            child.stdout.on('data', (d: Buffer) => (out += d.toString()));
            child.stderr.on('data', (d: Buffer) => (out += d.toString()));
            child.on('close', () => resolve(out.trim())); // close, not exit: exit can come before the last output is read
          })
      )
    );
    await fs.rm(module);
    return { winners: pids.filter((_, i) => outputs[i] === 'won'), told: outputs.filter(o => o !== 'won') };
  }

  it('takes a free lock: a 0600 file holding the pid, and nothing else left in the directory', async () => {
    await claimCompanionLock(lock, { pid: 4242, alive });
    expect(await fs.readFile(lock, 'utf8')).toBe('4242\n');
    expect((await fs.stat(lock)).mode & 0o777).toBe(0o600);
    expect(await fs.readdir(dir)).toEqual(['companion.lock']);
  });

  it('refuses while the owner runs, naming its pid and what to do', async () => {
    live.add(4242);
    await claimCompanionLock(lock, { pid: 4242, alive });
    await expect(claimCompanionLock(lock, { pid: 4243, alive })).rejects.toThrow(
      /another hpclab companion \(pid 4242\) already serves this user \(stop it first, or use it\)/
    );
    expect(await fs.readFile(lock, 'utf8')).toBe('4242\n');
  });

  it('takes over a lock whose owner is gone (kill -9)', async () => {
    await fs.writeFile(lock, `${DEAD}\n`, { mode: 0o600 });
    await claimCompanionLock(lock, { pid: 4242, alive });
    expect(await fs.readFile(lock, 'utf8')).toBe('4242\n');
    expect(await fs.readdir(dir)).toEqual(['companion.lock']);
  });

  it('exactly one of many simultaneous starters wins a free lock; the rest are told its pid', async () => {
    for (let round = 0; round < 12; round++) {
      await fs.rm(lock, { force: true });
      const { winners, told } = await race(8);
      expect([round, winners.length]).toEqual([round, 1]);
      expect(told).toEqual(Array(7).fill(`told ${winners[0]}`));
      expect(await fs.readFile(lock, 'utf8')).toBe(`${winners[0]}\n`);
    }
  }, 120_000);

  it('exactly one of many simultaneous starters takes over a stale lock', async () => {
    for (let round = 0; round < 12; round++) {
      await fs.writeFile(lock, `${DEAD}\n`, { mode: 0o600 });
      const { winners, told } = await race(8);
      expect([round, winners.length]).toEqual([round, 1]);
      expect(told).toEqual(Array(7).fill(`told ${winners[0]}`));
      expect(await fs.readFile(lock, 'utf8')).toBe(`${winners[0]}\n`);
      expect(await fs.readdir(dir)).toEqual(['companion.lock']);
    }
  }, 120_000);

  it('clears a takeover left by a starter that died during it', async () => {
    await fs.writeFile(lock, `${DEAD}\n`);
    await fs.writeFile(`${lock}.takeover`, `${DEAD - 1}\n`);
    await claimCompanionLock(lock, { pid: 4242, alive });
    expect(await fs.readFile(lock, 'utf8')).toBe('4242\n');
    expect(await fs.readdir(dir)).toEqual(['companion.lock']);
  });

  it('refuses a lock file that holds no pid, saying to remove it, and leaves it alone', async () => {
    await fs.writeFile(lock, 'not a pid\n');
    await expect(claimCompanionLock(lock, { pid: 4242, alive })).rejects.toThrow(
      `${lock} does not hold a process id; remove it if no hpclab companion runs`
    );
    expect(await fs.readFile(lock, 'utf8')).toBe('not a pid\n');
  });

  it('releases only its own lock (one that was taken over stays)', async () => {
    await claimCompanionLock(lock, { pid: 4242, alive });
    await fs.writeFile(lock, '4243\n');
    await releaseCompanionLock(lock, 4242);
    expect(await fs.readFile(lock, 'utf8')).toBe('4243\n');
    await releaseCompanionLock(lock, 4243);
    await expect(fs.stat(lock)).rejects.toMatchObject({ code: 'ENOENT' });
    // On close, a lock replaced by something that is no lock is left alone, without throwing.
    await fs.writeFile(lock, 'garbage\n');
    await expect(releaseCompanionLock(lock, 4243)).resolves.toBeUndefined();
    expect(await fs.readFile(lock, 'utf8')).toBe('garbage\n');
  });
});
