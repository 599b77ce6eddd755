import { execFileSync, spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cancelAllJobs, repoRoot, testbed } from '../support/testbed';

/*
 * Sweeps and the runs they leave, on the testbed as a researcher drives them from a laptop: a
 * notebook with a `parameters` cell swept over two parameters as one 4-task array, its executed
 * notebooks fetched back, each with its own values and task id (a hostile value passed
 * verbatim); one task of a running array cancelled alone; a pending run held and released; a
 * task's log read.
 */

const bin = path.join(repoRoot, 'dist', 'server', 'cli', 'main.js');

function notebook(cells: { source: string; tags?: string[] }[]) {
  return JSON.stringify({
    cells: cells.map((c, i) => ({
      cell_type: 'code',
      execution_count: null,
      id: `c${i}`,
      metadata: c.tags ? { tags: c.tags } : {},
      outputs: [],
      source: c.source
    })),
    metadata: { kernelspec: { display_name: 'Python 3', language: 'python', name: 'python3' } },
    nbformat: 4,
    nbformat_minor: 5
  });
}

describe('hpclab runs against the testbed', () => {
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
  const json = (r: { code: number | null; stdout: string; stderr: string }) => {
    if (r.code !== 0) throw new Error(`hpclab exited ${r.code}: ${r.stderr}`);
    return JSON.parse(r.stdout);
  };
  const squeue = (jobId: string) =>
    execFileSync('squeue', ['-h', '-r', '-j', jobId, '-o', '%i %T'], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .sort();
  const until = async (what: string, check: () => boolean, ms = 60_000) => {
    for (const end = Date.now() + ms; Date.now() < end; await new Promise(r => setTimeout(r, 250))) if (check()) return;
    throw new Error(`timed out waiting for ${what}`);
  };

  beforeAll(async () => {
    await cancelAllJobs();
    work = await fs.mkdtemp(path.join(os.tmpdir(), 'hpclab-runs-'));
    await fs.writeFile(
      path.join(work, 'sweep.ipynb'),
      notebook([
        { source: 'lr = 0.5\nlabel = "default"', tags: ['parameters'] },
        {
          source:
            'import os, json\nprint(json.dumps({"lr": lr, "label": label, "task": os.environ["SLURM_ARRAY_TASK_ID"]}))'
        }
      ])
    );
    await fs.writeFile(path.join(work, 'slow.sh'), 'echo "task $SLURM_ARRAY_TASK_ID started"\nsleep 300\n');
  });
  afterAll(async () => {
    await cancelAllJobs();
    await fs.rm(work, { recursive: true, force: true });
  });

  it('sweeps a notebook as a 4-task array and fetches the four executed notebooks', async () => {
    const submitted = json(
      hpclab(
        'submit',
        'sweep.ipynb',
        '--profile',
        'cpu',
        '--param',
        'lr=0.1,0.01',
        '--param',
        'label=plain,$(touch canary) "q" \\, \'s\'',
        '--wait',
        '--json'
      )
    );
    expect(submitted).toMatchObject({ state: 'COMPLETED', exitCode: 0, taskCount: 4 });
    expect(submitted.tasks).toHaveLength(4);

    const listed = json(hpclab('runs', '--json'));
    expect(listed.runs.map((r: { runId: string }) => r.runId)).toContain(submitted.runId);
    const shown = json(hpclab('runs', 'show', submitted.runId, '--json'));
    expect(shown.tasks.map((t: { state: string }) => t.state)).toEqual(Array(4).fill('COMPLETED'));

    const dest = path.join(work, 'fetched');
    const fetched = json(hpclab('runs', 'fetch', submitted.runId, '--to', dest, '--json'));
    expect(fetched.fetched.filter((f: string) => f.endsWith('.ipynb'))).toHaveLength(4);
    const results = [];
    for (let task = 0; task < 4; task++) {
      const nb = JSON.parse(await fs.readFile(path.join(dest, 'out', `sweep_${task}.ipynb`), 'utf8'));
      expect(nb.cells[1].metadata.tags).toEqual(['injected-parameters']);
      results.push(JSON.parse(nb.cells[2].outputs[0].text));
    }
    const hostile = '$(touch canary) "q" , \'s\'';
    expect(results).toEqual([
      { lr: 0.1, label: 'plain', task: '0' },
      { lr: 0.1, label: hostile, task: '1' },
      { lr: 0.01, label: 'plain', task: '2' },
      { lr: 0.01, label: hostile, task: '3' }
    ]);
    expect((await fs.stat(dest)).mode & 0o077).toBe(0);
    await expect(fs.stat(path.join(work, 'canary'))).rejects.toThrow();
    await expect(fs.stat(path.join(shown.runDir, 'canary'))).rejects.toThrow();

    const log = hpclab('runs', 'log', `${submitted.runId}_3`);
    expect(log.code).toBe(0);
    expect(log.stdout).toContain('executed notebook written to out/sweep_3.ipynb');
  }, 240_000);

  it('cancels one task of a running array and leaves the others running', async () => {
    const run = json(hpclab('submit', 'slow.sh', '--profile', 'cpu', '--array', '0-2', '--json'));
    expect(run.taskCount).toBe(3);
    await until('three running tasks', () => squeue(run.jobId).filter(l => l.endsWith('RUNNING')).length === 3);
    expect(json(hpclab('runs', 'cancel', `${run.runId}_1`, '--json'))).toMatchObject({ jobId: `${run.jobId}_1` });
    await until('task 1 to leave the queue', () => squeue(run.jobId).length === 2);
    expect(squeue(run.jobId)).toEqual([`${run.jobId}_0 RUNNING`, `${run.jobId}_2 RUNNING`]);
    await until('task 0 to log', () => hpclab('runs', 'log', `${run.runId}_0`).stdout.includes('task 0 started'));
    expect(hpclab('runs', 'cancel', run.runId).code).toBe(0);
    await until('the run to leave the queue', () => squeue(run.jobId).length === 0);
  }, 120_000);

  it('holds one task of a pending run, then the whole run, and releases it', async () => {
    const run = json(
      hpclab('submit', 'slow.sh', '--profile', 'cpu', '--array', '0-1', '--sbatch', 'begin=now+3600', '--json')
    );
    const reasons = () =>
      execFileSync('squeue', ['-h', '-r', '-j', run.jobId, '-o', '%i %r'], { encoding: 'utf8' })
        .split('\n')
        .filter(Boolean)
        .sort();
    await until('the run to wait for its start time', () => reasons().every(l => l.endsWith(' BeginTime')));
    expect(hpclab('runs', 'hold', `${run.runId}_1`).code).toBe(0);
    expect(reasons()).toEqual([`${run.jobId}_0 BeginTime`, `${run.jobId}_1 JobHeldUser`]);
    expect(hpclab('runs', 'hold', run.runId).code).toBe(0);
    expect(reasons()).toEqual([`${run.jobId}_0 JobHeldUser`, `${run.jobId}_1 JobHeldUser`]);
    // Slurm's release also clears the begin time: the tasks may start at once.
    expect(hpclab('runs', 'release', run.runId).code).toBe(0);
    expect(reasons().filter(l => l.endsWith('JobHeldUser'))).toEqual([]);
  }, 60_000);

  it('refuses a bad run reference, naming it, and a task for a whole-run action', () => {
    const bad = hpclab('runs', 'show', '../../etc');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/RUN: expected a run id/);
    const task = hpclab('runs', 'fetch', 'x-20261205-120000-abcd_2');
    expect(task.code).toBe(2);
    expect(task.stderr).toMatch(/fetch takes a whole run/);
  });
});
