import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot, testbed } from '../support/testbed';

/*
 * `hpclab sync` against the testbed's login node over SFTP, as user hpcuser: 1,000 small files
 * pushed into a `~/` mapping, three changed and pushed again (exactly three copied), pulled into a
 * fresh folder and compared byte for byte with times kept; a DIR outside the mapping is refused
 * and nothing reaches the cluster.
 */

const bin = path.join(repoRoot, 'dist', 'server', 'cli', 'main.js');

describe('hpclab sync against the testbed', () => {
  const env = testbed();
  const remoteName = `hpclab-sync-it-${process.pid}`;
  // The login node shares this machine's disks: the cluster side is checked where it lands.
  const remoteOnDisk = path.join('/home', env.user, remoteName);
  let work: string;
  let laptop: string;
  let config: string;

  const hpclab = (...args: string[]) => {
    const r = spawnSync(process.execPath, [bin, ...args, '--config', config], {
      cwd: work,
      encoding: 'utf8',
      env: { PATH: process.env.PATH, HOME: os.tmpdir(), CI: '1' },
      timeout: 180_000
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const json = (r: { code: number | null; stdout: string; stderr: string }) => {
    if (r.code !== 0) throw new Error(`hpclab exited ${r.code}: ${r.stderr}`);
    return JSON.parse(r.stdout);
  };

  /** Relative path → content and whole-second mtime, for every file below `root`. */
  async function files(root: string): Promise<Map<string, { data: string; mtime: number }>> {
    const out = new Map<string, { data: string; mtime: number }>();
    for (const rel of (await fs.readdir(root, { recursive: true })) as string[]) {
      const full = path.join(root, rel);
      const st = await fs.lstat(full);
      if (st.isFile()) out.set(rel, { data: await fs.readFile(full, 'utf8'), mtime: Math.floor(st.mtimeMs / 1000) });
    }
    return out;
  }

  beforeAll(async () => {
    work = await fs.mkdtemp(path.join(os.tmpdir(), 'hpclab-sync-'));
    laptop = path.join(work, 'laptop');
    const base = JSON.parse(await fs.readFile(env.config, 'utf8'));
    base.clusters.testbed.pathMap = [{ local: laptop, remote: `~/${remoteName}` }];
    config = path.join(work, 'config.json');
    await fs.writeFile(config, JSON.stringify(base));
    const proj = path.join(laptop, 'proj');
    for (let d = 0; d < 10; d++) {
      await fs.mkdir(path.join(proj, `d${d}`), { recursive: true });
      await Promise.all(
        Array.from({ length: 100 }, (_, f) =>
          fs.writeFile(path.join(proj, `d${d}`, `f${f}.txt`), `file ${d}/${f}\n`.repeat(1 + (f % 7)))
        )
      );
    }
  });
  afterAll(async () => {
    await fs.rm(work, { recursive: true, force: true });
    await fs.rm(remoteOnDisk, { recursive: true, force: true });
  });

  it('pushes 1,000 files, then only the 3 changed, then pulls an identical copy', async () => {
    const proj = path.join(laptop, 'proj');
    const first = json(hpclab('sync', 'push', proj, '--json'));
    expect(first).toMatchObject({ direction: 'push', cluster: 'testbed', copied: 1000, unchanged: 0, failed: [] });
    expect(first.dest).toBe(`testbed:/home/${env.user}/${remoteName}/proj`);
    expect((await files(path.join(remoteOnDisk, 'proj'))).size).toBe(1000);

    const none = json(hpclab('sync', 'push', proj, '--json'));
    expect(none).toMatchObject({ copied: 0, unchanged: 1000, bytes: 0 });

    const later = Math.floor(Date.now() / 1000) + 60;
    for (const rel of ['d0/f0.txt', 'd5/f50.txt', 'd9/f99.txt']) {
      await fs.writeFile(path.join(proj, rel), `changed ${rel}\n`);
      await fs.utimes(path.join(proj, rel), later, later);
    }
    const changed = json(hpclab('sync', 'push', proj, '--json'));
    expect(changed).toMatchObject({ copied: 3, unchanged: 997, failed: [] });

    const fresh = path.join(laptop, 'fresh');
    await fs.rm(fresh, { recursive: true, force: true });
    // Pull the pushed folder into a new place under the mapping: map "fresh" to the same remote folder.
    const cfg = JSON.parse(await fs.readFile(config, 'utf8'));
    cfg.clusters.testbed.pathMap.push({ local: fresh, remote: `~/${remoteName}/proj` });
    await fs.writeFile(config, JSON.stringify(cfg));
    const pulled = json(hpclab('sync', 'pull', fresh, '--json'));
    expect(pulled).toMatchObject({ direction: 'pull', copied: 1000, failed: [] });
    expect(await files(fresh)).toEqual(await files(proj));
  });

  it('refuses a DIR outside the mapping and copies nothing', async () => {
    const elsewhere = path.join(work, 'elsewhere');
    await fs.mkdir(elsewhere, { recursive: true });
    await fs.writeFile(path.join(elsewhere, 'secret.txt'), 'not for the cluster');
    const before = await fs.readdir(path.join('/home', env.user));
    const r = hpclab('sync', 'push', elsewhere);
    expect(r.code).toBe(2);
    // HOME is the temp dir here, so DIR may be shown as ~/….
    expect(r.stderr).toMatch(/DIR \S*\/elsewhere is not under a folder mapped to cluster testbed/);
    expect(r.stderr).toContain('clusters.testbed.pathMap');
    expect(r.stdout).toBe('');
    expect(await fs.readdir(path.join('/home', env.user))).toEqual(before);
  });
});
