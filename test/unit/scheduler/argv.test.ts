import {
  SINFO_FORMAT,
  SQUEUE_FORMAT,
  cancelArgv,
  commandName,
  holdArgv,
  jobDetailArgv,
  myJobsArgv,
  partitionsArgv,
  releaseArgv,
  submitArgv
} from '../../../server/scheduler/slurm/argv';

describe('slurm argv', () => {
  it('asks sinfo for one unpadded line per node and partition', () => {
    expect(partitionsArgv()).toEqual([
      'sinfo',
      '--noheader',
      '--Node',
      '--Format=NodeList:0|,Partition:0|,StateLong:0|,CPUsState:0|,Gres:0|,GresUsed:0|,Available:0|,Time:0'
    ]);
    expect(SINFO_FORMAT).not.toMatch(/:(?!0)/);
  });

  it('asks squeue once for my jobs with US-separated fields and an RS per record', () => {
    const argv = myJobsArgv();
    expect(argv.slice(0, -1)).toEqual([
      'env',
      'SLURM_TIME_FORMAT=standard',
      'squeue',
      '--me',
      '--all',
      '--states=all',
      '--noheader'
    ]);
    expect(argv[argv.length - 1]).toBe(`--Format=${SQUEUE_FORMAT}`);
    expect(SQUEUE_FORMAT).toBe(
      'JobID:0\x1f,ArrayJobID:0\x1f,ArrayTaskID:0\x1f,UserName:0\x1f,State:0\x1f,Partition:0\x1f,NodeList:0\x1f,' +
        'NumNodes:0\x1f,NumCPUs:0\x1f,TimeUsed:0\x1f,TimeLimit:0\x1f,TimeLeft:0\x1f,SubmitTime:0\x1f,StartTime:0\x1f,' +
        'tres-per-node:0\x1f,Name:0\x1f,Reason:0\x1f,Comment:0\x1f,WorkDir:0\x1e'
    );
    expect(myJobsArgv('bob')).toContain('--user=bob');
    expect(myJobsArgv('bob')).not.toContain('--me');
    expect(commandName(argv)).toBe('squeue');
    expect(commandName(partitionsArgv())).toBe('sinfo');
  });

  it('builds sbatch with one --flag=value word per option and the script on stdin', () => {
    expect(submitArgv({})).toEqual(['sbatch', '--parsable']);
    expect(
      submitArgv({
        jobName: 'hpclab-lab',
        partition: 'gpu',
        time: '01:00:00',
        cpusPerTask: 2,
        mem: '4G',
        gres: 'gpu:a100:1',
        account: 'proj',
        qos: 'normal',
        constraint: 'a100&ib',
        nodelist: 'gpu[01-02]',
        nodes: 1,
        array: '1-8%2',
        comment: 'hpclab-s1',
        output: '%x.%j.out',
        error: '%x.%j.err',
        chdir: '/home/alice',
        mailType: 'END,FAIL',
        mailUser: 'alice@example.org',
        hold: true
      })
    ).toEqual([
      'sbatch',
      '--parsable',
      '--job-name=hpclab-lab',
      '--partition=gpu',
      '--account=proj',
      '--qos=normal',
      '--time=01:00:00',
      '--nodes=1',
      '--cpus-per-task=2',
      '--mem=4G',
      '--gres=gpu:a100:1',
      '--constraint=a100&ib',
      '--nodelist=gpu[01-02]',
      '--array=1-8%2',
      '--chdir=/home/alice',
      '--output=%x.%j.out',
      '--error=%x.%j.err',
      '--comment=hpclab-s1',
      '--mail-type=END,FAIL',
      '--mail-user=alice@example.org',
      '--hold'
    ]);
    expect(submitArgv({ hold: false })).toEqual(['sbatch', '--parsable']);
  });

  it('keeps hostile values inside one argv word', () => {
    const name = `it's "x"; $(touch /tmp/x) \`id\` --partition=evil`;
    const argv = submitArgv({ jobName: name, comment: '-p evil', chdir: '/home/a b' });
    expect(argv).toEqual(['sbatch', '--parsable', `--job-name=${name}`, '--chdir=/home/a b', '--comment=-p evil']);
  });

  it('builds cancel, hold, release and detail commands', () => {
    expect(cancelArgv('123')).toEqual(['scancel', '--', '123']);
    expect(holdArgv('123_4')).toEqual(['scontrol', 'hold', '123_4']);
    expect(releaseArgv('123')).toEqual(['scontrol', 'release', '123']);
    expect(jobDetailArgv('123')).toEqual(['scontrol', '--oneliner', 'show', 'job', '123']);
  });
});
