import { execFileSync, spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cancelAllJobs, repoRoot, testbed } from '../support/testbed';

/*
 * `hpclab submit` on the testbed, as a user runs it from a laptop: the script is staged over
 * SSH into its own run directory, submitted with the options asked for (read back from
 * scontrol), run on the node, followed with --wait to its exit status; a dry run submits nothing.
 */

const bin = path.join(repoRoot, 'dist', 'server', 'cli', 'main.js');

function hpclab(args: string[], cwd: string) {
  const r = spawnSync(process.execPath, [bin, ...args], {
    cwd,
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: os.tmpdir(), CI: '1' },
    timeout: 120_000
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('hpclab submit against the testbed', () => {
  const env = testbed();
  let work: string;
  const myJobs = () =>
    execFileSync('squeue', ['-h', '-u', env.user, '-o', '%i'], { encoding: 'utf8' }).split('\n').filter(Boolean);

  beforeAll(async () => {
    await cancelAllJobs();
    work = await fs.mkdtemp(path.join(os.tmpdir(), 'hpclab-submit-'));
    await fs.writeFile(
      path.join(work, 'hello.sh'),
      'echo "hello $1 from $(hostname) job $SLURM_JOB_ID" > out/result.txt\necho "PYTHONUNBUFFERED=$PYTHONUNBUFFERED"\necho done\n'
    );
    await fs.writeFile(path.join(work, 'fails.py'), 'import sys\nprint("boom: the data was not there")\nsys.exit(3)\n');
    await fs.writeFile(path.join(work, '$(touch canary).sh'), 'echo no\n');
  });
  afterAll(async () => {
    await cancelAllJobs();
    await fs.rm(work, { recursive: true, force: true });
  });

  it('--dry-run prints the sbatch command and the job script, and submits nothing', () => {
    const before = myJobs();
    const r = hpclab(
      [
        'submit',
        'hello.sh',
        '--config',
        env.config,
        '--profile',
        'cpu',
        '--sbatch',
        'output=out/%x.%j',
        '--mail',
        'END',
        '--dry-run',
        '--json'
      ],
      work
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.argv).toEqual(
      expect.arrayContaining(['--job-name=hello', '--output=out/%x.%j', '--mail-type=END', `--chdir=${out.runDir}`])
    );
    expect(out.script).toContain('exec bash ./hello.sh');
    expect(myJobs()).toEqual(before);
    expect(() => execFileSync('test', ['-e', out.runDir])).toThrow();
  });

  it('stages the script, submits it with the options asked for, and --wait ends with its result', async () => {
    const r = hpclab(
      [
        'submit',
        'hello.sh',
        '--config',
        env.config,
        '--profile',
        'cpu',
        '--sbatch',
        'output=out/%x.%j',
        '--mail',
        'END',
        '--wait',
        '--json',
        '--',
        'world'
      ],
      work
    );
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ cluster: 'testbed', state: 'COMPLETED', exitCode: 0 });
    expect(r.stderr).toMatch(new RegExp(`job ${out.jobId}: (PENDING|RUNNING)`));
    const job = execFileSync('scontrol', ['show', 'job', out.jobId], { encoding: 'utf8' });
    expect(job).toMatch(/\bMailType=END\b/);
    expect(job).toContain(`WorkDir=${out.runDir}`);
    expect(await fs.readFile(path.join(out.runDir, 'out', 'result.txt'), 'utf8')).toMatch(
      new RegExp(`^hello world from \\S+ job ${out.jobId}\\n$`)
    );
    expect(await fs.readFile(path.join(out.runDir, 'out', `hello.${out.jobId}`), 'utf8')).toBe(
      'PYTHONUNBUFFERED=1\ndone\n'
    );
    // Only the file was staged (beside the run's manifest), private to its owner.
    expect((await fs.readdir(out.runDir)).sort()).toEqual(['hello.sh', 'hpclab-run.json', 'out']);
    const manifest = JSON.parse(await fs.readFile(path.join(out.runDir, 'hpclab-run.json'), 'utf8'));
    expect(manifest).toMatchObject({ runId: out.runId, jobId: out.jobId, file: 'hello.sh', kind: 'shell' });
    expect((await fs.stat(out.runDir)).mode & 0o777).toBe(0o700);
  }, 180_000);

  it('--include stages the named files and folders at their relative place, private, and nothing else', async () => {
    await fs.mkdir(path.join(work, 'data', 'raw'), { recursive: true });
    await fs.writeFile(path.join(work, 'data', 'raw', 'numbers.txt'), '1\n2\n3\n');
    await fs.writeFile(path.join(work, 'helper.sh'), 'echo "helper ran"\n', { mode: 0o755 });
    await fs.writeFile(path.join(work, 'unasked.txt'), 'not staged\n');
    await fs.writeFile(
      path.join(work, 'sum.sh'),
      "awk '{ s += $1 } END { print s }' data/raw/numbers.txt > out/sum.txt\n./helper.sh\n"
    );
    const r = hpclab(
      [
        'submit',
        'sum.sh',
        '--config',
        env.config,
        '--profile',
        'cpu',
        '--include',
        'data',
        '--include',
        'helper.sh',
        '--wait',
        '--json'
      ],
      work
    );
    expect([r.code, r.stderr.match(/hpclab: job \d+: COMPLETED/) !== null]).toEqual([0, true]);
    const out = JSON.parse(r.stdout);
    expect(await fs.readFile(path.join(out.runDir, 'out', 'sum.txt'), 'utf8')).toBe('6\n');
    expect((await fs.readdir(out.runDir)).sort()).toEqual([
      'data',
      'helper.sh',
      'hpclab-run.json',
      'out',
      `sum.${out.jobId}.out`,
      'sum.sh'
    ]);
    expect(await fs.readFile(path.join(out.runDir, `sum.${out.jobId}.out`), 'utf8')).toBe('helper ran\n');
    expect(await fs.readdir(path.join(out.runDir, 'data', 'raw'))).toEqual(['numbers.txt']);
    expect((await fs.stat(path.join(out.runDir, 'data', 'raw', 'numbers.txt'))).mode & 0o777).toBe(0o600);
    expect((await fs.stat(path.join(out.runDir, 'helper.sh'))).mode & 0o777).toBe(0o700);
    expect((await fs.stat(path.join(out.runDir, 'data', 'raw'))).mode & 0o777).toBe(0o700);
  }, 180_000);

  it('refuses an --include outside the current directory before connecting', () => {
    const r = hpclab(
      ['submit', 'hello.sh', '--config', env.config, '--profile', 'cpu', '--include', '../../etc'],
      work
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--include "\.\.\/\.\.\/etc": only paths inside the current directory/);
  });

  it("--wait exits with a failing script's status and shows the end of its output", () => {
    const r = hpclab(['submit', 'fails.py', '--config', env.config, '--profile', 'cpu', '--wait'], work);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/^job \d+ FAILED, exit status 3$/m);
    expect(r.stderr).toContain('boom: the data was not there');
  }, 180_000);

  it('refuses a hostile file name before connecting, and runs nothing', async () => {
    const before = myJobs();
    const r = hpclab(['submit', '$(touch canary).sh', '--config', env.config, '--profile', 'cpu'], work);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/FILE: cannot stage/);
    expect(myJobs()).toEqual(before);
    await expect(fs.stat(path.join(work, 'canary'))).rejects.toThrow();
  });
});
