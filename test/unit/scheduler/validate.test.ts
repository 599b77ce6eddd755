import { profileSchema } from '../../../server/config/schema';
import { SchedulerError } from '../../../server/scheduler/errors';
import { submitArgv } from '../../../server/scheduler/slurm/argv';
import { checkJobId, checkSubmitOptions, jobIdSchema, submitOptionsSchema } from '../../../server/scheduler/validate';

/** The messages zod gives for one options object, or [] when it passes. */
function problems(options: unknown): string[] {
  const result = submitOptionsSchema.safeParse(options);
  return result.success ? [] : result.error.issues.map(i => i.message);
}

describe('submitOptionsSchema', () => {
  it('accepts what Slurm accepts', () => {
    const ok = [
      { jobName: 'hpclab-lab', partition: 'gpu', time: '01:00:00', cpusPerTask: 2, mem: '4G', gres: 'gpu:1' },
      { partition: 'gpu,batch', time: '30', gres: 'gpu:a100:2,mps:100', mem: '4096' },
      { time: '5:00' },
      { time: '2-12' },
      { time: '2-12:30' },
      { time: '1-00:00:00' },
      { time: 'UNLIMITED' },
      { time: 'infinite' },
      { time: '0:90:00' },
      { time: '90:00' },
      { time: '0' },
      { mem: '4g' },
      { mem: '512m' },
      { mem: '1T' },
      { mem: '0' },
      { gres: 'nvidia-gpu:tesla-v100:1' },
      { array: '1-8' },
      { array: '1,3,5' },
      { array: '0-15:4' },
      { array: '1-8%2' },
      { constraint: 'a100&ib' },
      { constraint: '(a100|v100)&ib' },
      { constraint: '[rack1*2&rack2*4]' },
      { nodelist: 'c[1-4],gpu01' },
      { nodelist: 'r[1-2]n[01-04,07]' },
      { output: '%x.%j.out', error: '/scratch/%u/%A_%a.err', chdir: '/home/a b' },
      { mailType: 'END,FAIL,TIME_LIMIT_90', mailUser: 'alice@example.org' },
      { mailUser: 'alice' },
      { comment: 'hpclab-s1 lr=0.1', hold: true, nodes: 2, account: 'proj-1', qos: 'high.prio' }
    ];
    for (const options of ok) expect([options, problems(options)]).toEqual([options, []]);
  });

  it('passes a job name with quotes and $(…) verbatim, as one argv word', () => {
    const jobName = `it's "x" $(touch /tmp/x); rm -rf ~ | cat`;
    const options = checkSubmitOptions({ jobName });
    expect(options.jobName).toBe(jobName);
    expect(submitArgv(options)).toEqual(['sbatch', '--parsable', `--job-name=${jobName}`]);
  });

  it.each([
    [
      { partition: 'debug; touch /tmp/x' },
      'partition: expected a Slurm partition name (letters, digits, _ . -) or a comma-separated list of them, got "debug; touch /tmp/x"'
    ],
    [
      { time: '1h' },
      'time: expected a Slurm time limit (minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS, UNLIMITED or INFINITE), got "1h"'
    ],
    [{ time: '1:2:3:4' }, /^time: expected a Slurm time limit/],
    [{ time: '1-' }, /^time: expected/],
    [{ time: '-1' }, /^time: expected/],
    [{ jobName: 'a\nb' }, 'jobName: expected 1 to 200 characters without control characters or newlines, got "a\\nb"'],
    [{ jobName: 'x\u0000' }, /^jobName: expected/],
    [{ jobName: 'x\x1fy' }, /^jobName: expected/],
    [{ jobName: '' }, /^jobName: expected/],
    [{ jobName: 'x'.repeat(201) }, /^jobName: expected .*…"$/],
    [{ comment: 'a\r\nb' }, /^comment: expected/],
    [{ comment: 'c'.repeat(1001) }, /^comment: expected/],
    [{ account: 'a b' }, /^account: expected/],
    [{ account: '-A' }, /^account: expected a Slurm account name/],
    [{ partition: 'gpu,,batch' }, /^partition: expected/],
    [{ partition: '-p' }, /^partition: expected/],
    [{ qos: '$(id)' }, /^qos: expected/],
    [
      { mem: '4GB' },
      'mem: expected a memory size such as 4096, 500M or 16G (a whole number with an optional K, M, G or T), got "4GB"'
    ],
    [{ mem: '1.5G' }, /^mem: expected/],
    [{ gres: 'gpu:1 --x' }, /^gres: expected a Slurm GRES list name\[:type\]\[:count\]/],
    [{ gres: 'gpu::1' }, /^gres: expected/],
    [{ cpusPerTask: 0 }, 'cpusPerTask: expected a whole number of CPUs from 1 to 10000, got number 0'],
    [{ cpusPerTask: 1.5 }, /^cpusPerTask: expected a whole number/],
    [{ cpusPerTask: '2' }, 'cpusPerTask: expected a whole number of CPUs from 1 to 10000, got "2"'],
    [{ nodes: 1e9 }, /^nodes: expected a whole number from 1 to 100000/],
    [{ array: '1-8%' }, /^array: expected/],
    [{ array: '1..8' }, /^array: expected/],
    [{ constraint: 'a&&b' }, /^constraint: expected/],
    [{ constraint: '(a|b' }, /^constraint: expected/],
    [{ constraint: 'a*' }, /^constraint: expected/],
    [{ constraint: 'a;b' }, /^constraint: expected/],
    [{ constraint: '!a100' }, /^constraint: expected/],
    [{ nodelist: 'c[1-4' }, /^nodelist: expected/],
    [{ nodelist: 'c1 c2' }, /^nodelist: expected/],
    [{ output: 'out\n.txt' }, /^output: expected/],
    [{ error: '' }, /^error: expected/],
    [{ chdir: 'relative/dir' }, /^chdir: expected an absolute directory path/],
    [{ chdir: '~/work' }, /^chdir: expected/],
    [{ mailType: 'END,SOMETIMES' }, /^mailType: expected a comma list of NONE, BEGIN/],
    [{ mailUser: 'a@b.c; rm -rf /' }, /^mailUser: expected/],
    [{ hold: 'yes' }, 'hold: expected true or false, got "yes"'],
    [{ partitions: 'gpu' }, /^unknown option partitions: expected jobName, partition/],
    [null, 'options: expected an object, got object null']
  ])('rejects %j', (options, message) => {
    const found = problems(options);
    expect(found).toHaveLength(1);
    expect(found[0]).toEqual(typeof message === 'string' ? message : expect.stringMatching(message));
  });

  it('lists every problem, one per line, as an invalid-request SchedulerError', () => {
    try {
      checkSubmitOptions({ time: '1h', mem: 'lots', extra: 1 });
      throw new Error('expected a rejection');
    } catch (error) {
      expect(error).toBeInstanceOf(SchedulerError);
      expect(error).toMatchObject({ kind: 'invalid-request' });
      expect((error as Error).message.split('\n')).toEqual([
        expect.stringMatching(/^time: expected a Slurm time limit .*, got "1h"$/),
        expect.stringMatching(/^mem: expected a memory size .*, got "lots"$/),
        expect.stringMatching(/^unknown option extra/)
      ]);
    }
  });
});

describe('profiles and sbatch options share one grammar', () => {
  // Each value is tried as a profile field (config.json) and as the submit option it becomes.
  const samples: Record<string, unknown[]> = {
    partition: ['gpu', 'gpu,batch', 'a.b-c_d', 'gpu,,batch', ',gpu', '-p', '.hidden', 'gpu batch', 'gpu;x', ''],
    account: ['proj_1', 'proj-1', '-A', '.a', 'a b', ''],
    qos: ['normal', 'high.prio', '-q', '$(id)'],
    time: [
      '30',
      '30:00',
      '0:90:00',
      '1-0',
      '2-12:30',
      '7-00:00:00',
      'UNLIMITED',
      'infinite',
      '1h',
      '1:2:3:4',
      '1-',
      '-1',
      '1-2-3',
      ' 30',
      ''
    ],
    mem: ['4096', '4G', '4g', '500m', '1t', '16k', '0', '4GB', '1.5G', 'G', '-4G', ''],
    gres: ['gpu', 'gpu:1', 'gpu:a100:2', 'gpu:a100:2,shard:1', 'nvidia-gpu:1', 'gpu::1', 'gpu:1;rm', ':1', 'gpu,', ''],
    constraint: [
      'a100',
      'a100&ib',
      '(a100|v100)&ib',
      '[rack1*2&rack2*4]',
      'a&&b',
      '(a|b',
      'a*',
      '!a100',
      'knl:quad',
      ''
    ],
    nodelist: ['c1', 'c[1-4],gpu01', 'r[1-2]n[01-04,07]', 'node[01-04],gpu7', 'c[1-4', 'c1 c2', ',c1', '[1-2]', ''],
    cpus: [1, 2, 10_000, 0, 10_001, 1.5, '2']
  };
  const option = (field: string) => (field === 'cpus' ? 'cpusPerTask' : field);

  it.each(Object.entries(samples))('%s: config.json accepts exactly what sbatch options accept', (field, values) => {
    const verdicts = values.map(value => [
      value,
      profileSchema.safeParse({ cluster: 'c', [field]: value }).success,
      submitOptionsSchema.safeParse({ [option(field)]: value }).success
    ]);
    expect(verdicts).toEqual(values.map((value, i) => [value, verdicts[i][2], verdicts[i][2]]));
    // Both verdicts occur, so the table says something about each field.
    expect(new Set(verdicts.map(v => v[2]))).toEqual(new Set([true, false]));
  });
});

describe('jobIdSchema', () => {
  it.each(['1', '1234', '1234_5'])('accepts %s', id => {
    expect(jobIdSchema.parse(id)).toBe(id);
    expect(checkJobId(id)).toBe(id);
  });

  it.each(['', '12a', '1234_[1-3]', '-1', '1234 ', '1;scancel -u alice', '1234_', '1234.0'])('rejects %j', id => {
    expect(jobIdSchema.safeParse(id).success).toBe(false);
    expect(() => checkJobId(id)).toThrow(/^job id: expected a Slurm job id such as 1234 or 1234_5, got /);
  });
});

describe("a profile's own sbatch options", () => {
  it("reach sbatch after hpclab's, one word each, flags without a value", () => {
    const options = checkSubmitOptions({
      jobName: 'hpclab-abc',
      sbatch: { 'mail-type': 'END,FAIL', exclusive: '', licenses: 'fluent:1' }
    });
    expect(submitArgv(options)).toEqual([
      'sbatch',
      '--parsable',
      '--job-name=hpclab-abc',
      '--exclusive',
      '--licenses=fluent:1',
      '--mail-type=END,FAIL'
    ]);
  });

  it.each([
    [{ output: '/tmp/x' }, /"--output" cannot be set here: hpclab writes the job's output/],
    [{ 'job-name': 'x' }, /"--job-name" cannot be set here/],
    [{ 'no-requeue': '' }, /"--no-requeue" cannot be set here/],
    [{ 'Mail-Type': 'END' }, /expected an option name such as "mail-type", got "Mail-Type"/],
    [{ '--mail-type': 'END' }, /expected an option name/],
    [{ 'mail-type': 'END\n#SBATCH --output=/etc/x' }, /sbatch\.mail-type: expected one line without control characters/]
  ])('refuses %j before anything runs', (sbatch, message) => {
    expect(() => checkSubmitOptions({ sbatch })).toThrow(message);
  });

  it('refuses a __proto__ key as JSON.parse makes it (an own property), rather than dropping it', () => {
    const sbatch = JSON.parse('{"__proto__": {"polluted": true}, "exclusive": ""}');
    expect(() => checkSubmitOptions({ sbatch })).toThrow(
      /expected an option name such as "mail-type", got "__proto__"/
    );
  });
});
