import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { profileSchema } from '../../../server/config/schema';
import { submitArgv } from '../../../server/scheduler/slurm/argv';
import { planRun, type RunRequest } from '../../../server/runs/plan';
import { runKindOf } from '../../../server/runs/run-script';
import { RUN_MANIFEST_FILE, TASK_RUNNER_FILE, TASK_RUNNER_PY } from '../../../server/runs/task-runner';

/*
 * `hpclab submit`'s plan: the sbatch command and job script for a staged file, from the profile,
 * --sbatch words and --mail; hostile names and values are refused or stay one argv word. The
 * rendered script is run with bash here to see it start the file, in its run dir, with its args.
 */

const profile = profileSchema.parse({
  cluster: 'testbed',
  partition: 'debug',
  time: '00:10:00',
  sbatch: { 'mail-user': 'me' }
});
const request = (over: Partial<RunRequest> = {}): RunRequest => ({
  runId: 'train-20261205-120000-ab12',
  runDir: '/home/me/hpclab-runs/train-20261205-120000-ab12',
  fileName: 'train.py',
  profileName: 'cpu',
  profile,
  cluster: 'testbed',
  createdAt: '2026-12-05T12:00:00.000Z',
  ...over
});

it('names the job after the file, writes %x.%j.out in the run dir, carries the run id in the comment', () => {
  const argv = submitArgv(planRun(request()).options);
  expect(argv).toEqual([
    'sbatch',
    '--parsable',
    '--job-name=train',
    '--partition=debug',
    '--time=00:10:00',
    '--chdir=/home/me/hpclab-runs/train-20261205-120000-ab12',
    '--output=/home/me/hpclab-runs/train-20261205-120000-ab12/%x.%j.out',
    '--comment=hpclab-run:train-20261205-120000-ab12:cpu',
    '--mail-user=me'
  ]);
});

it('takes --sbatch words (named ones to their field, flags without a value) and --mail', () => {
  const { options } = planRun(
    request({
      sbatch: ['output=out/%x.%j', 'exclusive', '--time=00:20:00', 'licenses=fluent:1', 'cpus-per-task=4'],
      mail: 'END,FAIL',
      name: 'sweep'
    })
  );
  const argv = submitArgv(options);
  expect(argv).toEqual(
    expect.arrayContaining([
      '--job-name=sweep',
      '--output=out/%x.%j',
      '--time=00:20:00',
      '--cpus-per-task=4',
      '--mail-type=END,FAIL',
      '--exclusive',
      '--licenses=fluent:1'
    ])
  );
  expect(argv.filter(w => w.startsWith('--time'))).toEqual(['--time=00:20:00']);
});

it.each([
  [{ sbatch: ['chdir=/tmp'] }, /--sbatch chdir: cannot be set for a run: hpclab starts the job/],
  [{ sbatch: ['comment=x'] }, /--sbatch comment: cannot be set for a run/],
  [{ sbatch: ['Mail-Type=END'] }, /--sbatch: expected KEY=VALUE with an sbatch long option name/],
  [{ sbatch: ['time=soon'] }, /time: expected/],
  [{ sbatch: ['output=a\nb'] }, /output: expected a file path/],
  [{ mail: 'SOMETIMES' }, /mailType: expected a comma list of/],
  [{ name: 'a\nb' }, /jobName: expected 1 to 200 characters without control characters/]
])('refuses %j, naming the option, before anything runs', (over, message) => {
  expect(() => planRun(request(over))).toThrow(message);
});

it.each(['../etc/passwd', '.bashrc', '-rf', 'a b.py', '$(touch canary).sh', 'x\ny.py', ''])(
  'refuses the file name %j',
  name => {
    expect(() => runKindOf(name)).toThrow(/FILE: cannot stage/);
  }
);

it('runs a notebook through the task runner, with its manifest', () => {
  expect(runKindOf('analysis.ipynb')).toBe('notebook');
  const plan = planRun(request({ fileName: 'analysis.ipynb' }));
  expect(plan.viaRunner).toBe(true);
  expect(plan.script).toMatch(/^exec \S*python3? \.\/hpclab-task\.py hpclab-run\.json$/m);
  expect(plan.manifest).toMatchObject({ kind: 'notebook', file: 'analysis.ipynb', params: null, jobName: 'analysis' });
});

it('turns a --param grid into one array, a throttle from --array, one log per task', () => {
  const plan = planRun(request({ params: ['lr=0.1,0.01', 'name=a\\,b,$(touch canary)'], array: '%2' }));
  expect(plan.options.array).toBe('0-3%2');
  expect(plan.options.output).toMatch(/\/%x\.%A_%a\.out$/);
  expect(plan.manifest.params).toEqual([
    { lr: 0.1, name: 'a,b' },
    { lr: 0.1, name: '$(touch canary)' },
    { lr: 0.01, name: 'a,b' },
    { lr: 0.01, name: '$(touch canary)' }
  ]);
  expect(submitArgv(plan.options)).toContain('--array=0-3%2');
});

it('passes --array as given when there is no grid', () => {
  const plan = planRun(request({ array: '1-8%2' }));
  expect(plan.options.array).toBe('1-8%2');
  expect(plan.viaRunner).toBe(false);
  expect(plan.manifest.params).toBeNull();
});

it.each([
  [{ params: ['lr'] }, /--param "lr": expected NAME=V1,V2/],
  [{ params: ['1x=2'] }, /--param "1x=2": expected NAME=V1,V2/],
  [{ params: ['class=1'] }, /--param "class=1"/],
  [{ params: ['a=1', 'a=2'] }, /--param a: given twice/],
  [
    {
      params: [
        'a=' + Array.from({ length: 40 }, (_, i) => i).join(','),
        'b=' + Array.from({ length: 30 }, (_, i) => i).join(',')
      ]
    },
    /1200 combinations; at most 1000/
  ],
  [{ params: ['a=1,2'], array: '1-4' }, /--array "1-4": with --param the tasks are the grid's 2 combinations/],
  [{ array: '1-4;x' }, /array: expected indexes such as/]
])('refuses the sweep %j, naming the flag', (over, message) => {
  expect(() => planRun(request(over))).toThrow(message);
});

it('each task runs the script with its own parameters in the environment, values verbatim', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hpclab-run-'));
  try {
    writeFileSync(
      path.join(dir, 'show.sh'),
      'echo "$SLURM_ARRAY_TASK_ID $HPCLAB_PARAM_lr [$HPCLAB_PARAM_name] $HPCLAB_PARAMS $1"\n'
    );
    const plan = planRun(
      request({
        runDir: dir,
        fileName: 'show.sh',
        profile: profileSchema.parse({ cluster: 'x' }),
        params: ['lr=0.5,1e-3', "name=$(touch canary),it's"],
        args: ['arg one']
      })
    );
    writeFileSync(path.join(dir, TASK_RUNNER_FILE), TASK_RUNNER_PY);
    writeFileSync(path.join(dir, RUN_MANIFEST_FILE), JSON.stringify(plan.manifest));
    const run = (task: string) =>
      execFileSync('bash', ['-s'], {
        input: plan.script,
        encoding: 'utf8',
        cwd: tmpdir(),
        env: { PATH: process.env.PATH, SLURM_ARRAY_TASK_ID: task },
        stdio: 'pipe'
      });
    expect(run('1')).toBe(`1 0.5 [it's] {"lr": 0.5, "name": "it's"} arg one\n`);
    expect(run('2')).toBe(`2 0.001 [$(touch canary)] {"lr": 0.001, "name": "$(touch canary)"} arg one\n`);
    expect(() => run('4')).toThrow(/SLURM_ARRAY_TASK_ID='4' picks none of them/);
    expect(() => readFileSync(path.join(dir, 'canary'))).toThrow();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it('the script runs the file with python in its run dir, arguments verbatim, unbuffered', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hpclab-run-'));
  try {
    writeFileSync(
      path.join(dir, 'show.py'),
      'import os, sys\nprint(os.getcwd(), sys.argv[1:], os.environ["PYTHONUNBUFFERED"])\n'
    );
    const hostile = ['$(touch canary)', "it's", 'a b', '--flag'];
    const { script } = planRun(
      request({ runDir: dir, fileName: 'show.py', profile: profileSchema.parse({ cluster: 'x' }), args: hostile })
    );
    const out = execFileSync('bash', ['-s'], { input: script, encoding: 'utf8', cwd: tmpdir() });
    expect(out.trim()).toBe(`${dir} ['$(touch canary)', "it's", 'a b', '--flag'] 1`);
    expect(() => readFileSync(path.join(dir, 'canary'))).toThrow();
    expect(script.includes('\r')).toBe(false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
