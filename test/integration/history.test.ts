import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cancelAllJobs, repoRoot, testbed } from '../support/testbed';

/*
 * `hpclab jobs --history` on the testbed, whose Slurm keeps accounting (slurmdbd on MariaDB):
 * two scripts run to their ends, one fine after using a CPU for a while, one failing with
 * status 3, and the history lists both from sacct with their states, exit codes, elapsed time
 * and efficiency, in the table and in --json.
 */

const bin = path.join(repoRoot, 'dist', 'server', 'cli', 'main.js');

describe('hpclab jobs --history against the testbed', () => {
  const env = testbed();
  let work: string;
  const hpclab = (...args: string[]) => {
    const r = spawnSync(process.execPath, [bin, ...args, '--config', env.config], {
      cwd: work,
      encoding: 'utf8',
      env: { PATH: process.env.PATH, HOME: os.tmpdir(), CI: '1' },
      timeout: 180_000
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const submitted = (r: { code: number | null; stdout: string; stderr: string }) => {
    const m = /^job (\d+) (\w+)/m.exec(r.stdout);
    if (!m) throw new Error(`no job in hpclab's output (exit ${r.code}): ${r.stdout}${r.stderr}`);
    return m[1];
  };

  beforeAll(async () => {
    await cancelAllJobs();
    work = await fs.mkdtemp(path.join(os.tmpdir(), 'hpclab-history-'));
    // About 3 s of CPU in a ~3 s job: CPU efficiency well above zero.
    await fs.writeFile(
      path.join(work, 'busy.py'),
      'import time\nend = time.time() + 3\nwhile time.time() < end: pass\n'
    );
    await fs.writeFile(path.join(work, 'fails.sh'), 'echo "about to fail"\nexit 3\n');
  });
  afterAll(async () => {
    await cancelAllJobs();
    await fs.rm(work, { recursive: true, force: true });
  });

  it('lists finished jobs with state, exit code, elapsed and efficiency from sacct', async () => {
    const busy = submitted(hpclab('submit', 'busy.py', '--profile', 'cpu', '--wait'));
    const failed = submitted(hpclab('submit', 'fails.sh', '--profile', 'cpu', '--wait'));

    // slurmctld hands a job's end to slurmdbd asynchronously: ask until both are there, ended.
    let jobs: Record<string, any>[] = [];
    for (const end = Date.now() + 60_000; Date.now() < end; await new Promise(r => setTimeout(r, 500))) {
      const r = hpclab('jobs', '--history', '--since', '1h', '--json');
      expect([r.code, r.stderr]).toEqual([0, '']);
      const reply = JSON.parse(r.stdout);
      expect(reply).toMatchObject({ cluster: 'testbed', since: '1h', accounting: true });
      jobs = reply.jobs.filter((j: { jobId: string }) => [busy, failed].includes(j.jobId));
      // A step's memory is sampled while it runs: the busy job has a peak, the quick failure may not.
      const ended = jobs.filter(j => j.end !== null);
      if (ended.length === 2 && ended.find(j => j.jobId === busy)?.memEfficiency !== null) break;
    }
    const [b, f] = [busy, failed].map(id => jobs.find(j => j.jobId === id));
    expect(b).toMatchObject({ name: 'busy', state: 'COMPLETED', exitCode: 0, partition: expect.any(String), cpus: 1 });
    expect(b!.elapsedSeconds).toBeGreaterThanOrEqual(3);
    expect(b!.cpuEfficiency).toBeGreaterThan(0.3);
    expect(b!.maxRssBytes).toBeGreaterThan(1024 * 1024);
    expect(b!.memEfficiency).toBeGreaterThan(0);
    expect(f).toMatchObject({ name: 'fails', state: 'FAILED', exitCode: 3 });
    expect(f!.comment).toMatch(/^hpclab-run:fails-/);

    const table = hpclab('jobs', '--history', '--since', '1h');
    expect(table.code).toBe(0);
    const rows = table.stdout.split('\n');
    expect(rows[0]).toMatch(/^JOBID\s+NAME\s+STATE\s+EXIT\s+ELAPSED/);
    expect(rows.find(l => l.startsWith(`${busy} `))).toMatch(
      new RegExp(`^${busy}\\s+busy\\s+COMPLETED\\s+0\\s+00:00:0[3-9]`)
    );
    expect(rows.find(l => l.startsWith(`${failed} `))).toMatch(new RegExp(`^${failed}\\s+fails\\s+FAILED\\s+3\\s`));
  }, 240_000);

  it('refuses a --since it cannot read before connecting, naming the flag and what it takes', () => {
    const r = hpclab('jobs', '--history', '--since', '2026-02-30');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--since: expected a span back from now such as 7d.*got "2026-02-30"/);
  });
});
