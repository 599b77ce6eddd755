import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { profileSchema } from '../../../server/config/schema';
import { submitArgv } from '../../../server/scheduler/slurm/argv';
import { planRun, type RunRequest } from '../../../server/runs/plan';
import { runKindOf } from '../../../server/runs/run-script';

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

it('refuses a notebook for now, saying what to do instead', () => {
  expect(() => runKindOf('analysis.ipynb')).toThrow(/notebooks cannot be submitted yet/);
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
