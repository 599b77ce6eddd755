import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { SchedulerError } from '../../../server/scheduler/errors';
import {
  SACCT_FIELDS,
  cpuTimeSeconds,
  exitStatus,
  historyArgv,
  parseHistory,
  parseMemory,
  sacctStartTime
} from '../../../server/scheduler/slurm/parse-sacct';

/**
 * sacct-history.txt was recorded from Slurm 22.05.8 with slurmdbd on this project's Debian 12
 * testbed machine (a standalone cluster: node acctn1, user hpcuser uid 1001, fake GPUs,
 * PrologFlags=contain for the .extern steps), with exactly historyArgv()'s command.
 */
const fixture = readFileSync(path.join(__dirname, '../../fixtures/slurm/sacct-history.txt'), 'utf8');
const local = (text: string) => new Date(text); // ISO without zone is local time in JS too
const US = '\x1f';
const MiB = 2 ** 20;

/** One sacct line from the fields that matter to a test; the rest stay empty. */
function line(values: Partial<Record<(typeof SACCT_FIELDS)[number], string>>): string {
  const defaults = {
    State: 'COMPLETED',
    ExitCode: '0:0',
    ElapsedRaw: '100',
    Submit: '2026-11-20T10:00:00',
    Start: '2026-11-20T10:00:00',
    End: '2026-11-20T10:01:40',
    AllocCPUS: '1',
    NNodes: '1'
  };
  const all = { ...defaults, ...values } as Record<string, string>;
  return SACCT_FIELDS.map(name => all[name] ?? '').join(US);
}

describe('historyArgv', () => {
  it('asks for jobs and their steps, unrounded, with a separator no job name holds', () => {
    expect(historyArgv({ since: '7d' })).toEqual([
      'env',
      'SLURM_TIME_FORMAT=standard',
      'sacct',
      '--parsable2',
      '--noheader',
      '--noconvert',
      '--delimiter=\x1f',
      '--starttime=now-7days',
      '--format=JobID,JobName,Partition,State,ExitCode,ElapsedRaw,Submit,Start,End,AllocCPUS,TotalCPU,ReqMem,MaxRSS,NNodes,NodeList,AllocTRES,Comment'
    ]);
    expect(historyArgv({ since: '2026-11-20', user: 'alice' })).toContain('--user=alice');
    expect(historyArgv({ since: '12h' })).not.toContain('-X');
  });
});

describe('sacctStartTime', () => {
  it.each([
    ['7d', 'now-7days'],
    ['12h', 'now-12hours'],
    ['30m', 'now-30minutes'],
    ['90s', 'now-90seconds'],
    ['2w', 'now-2weeks'],
    ['007d', 'now-7days'],
    ['2026-11-20', '2026-11-20'],
    ['2026-11-20T08:00', '2026-11-20T08:00'],
    ['2026-02-28T23:59:59', '2026-02-28T23:59:59']
  ])('%s → %s', (since, start) => {
    expect(sacctStartTime(since)).toBe(start);
  });

  it.each([
    '',
    'yesterday',
    '7',
    '7 d',
    '-7d',
    '0d',
    '7y',
    '2026-02-30',
    '2026-11-20T24:00',
    '20/11/2026',
    'now-7days'
  ])('refuses %j, naming since and what it takes', since => {
    expect(() => sacctStartTime(since)).toThrow(SchedulerError);
    expect(() => sacctStartTime(since)).toThrow(/^since: expected .*7d, 12h.* 2026-11-20 .*got "/);
    expect(() => historyArgv({ since })).toThrow(expect.objectContaining({ kind: 'invalid-request' }));
  });
});

describe('parseHistory on recorded sacct output', () => {
  const jobs = parseHistory(fixture);
  const byId = Object.fromEntries(jobs.map(j => [j.jobId, j]));

  it('folds steps into one record per job or array task, in sacct order', () => {
    expect(jobs.map(j => j.jobId)).toEqual([
      '17',
      '18',
      '19',
      '21',
      '22',
      '23',
      '24',
      '25',
      '20_1',
      '20_2',
      '20_3',
      '28',
      '29'
    ]);
  });

  it('reads a finished GPU job with its comment, memory and CPU efficiency', () => {
    expect(byId['17']).toEqual({
      jobId: '17',
      name: 'hpclab-s1',
      partition: 'debug',
      state: 'COMPLETED',
      cancelledBy: null,
      exitCode: 0,
      elapsedSeconds: 4,
      submit: local('2026-12-05T16:16:41'),
      start: local('2026-12-05T16:16:42'),
      end: local('2026-12-05T16:16:46'),
      cpus: 2,
      cpuSeconds: 2.217,
      cpuEfficiency: 2.217 / 8,
      reqMemBytes: 1024 * MiB,
      maxRssBytes: 219844608, // the batch step's; the extern step's 1.5 MiB is smaller
      memEfficiency: 219844608 / (1024 * MiB),
      gpus: 1,
      nodes: 'acctn1',
      comment: 'hpclab-s1'
    });
  });

  it('reads exit codes: a failure, a signal as 128+N, cancel and timeout from the batch step', () => {
    expect(byId['18']).toMatchObject({ state: 'FAILED', exitCode: 3, reqMemBytes: 1000 * MiB, cpus: 2 });
    expect(byId['19']).toMatchObject({ state: 'FAILED', exitCode: 137 });
    // The job row says 0:0 for these; the batch step got SIGTERM.
    expect(byId['22']).toMatchObject({ state: 'CANCELLED', cancelledBy: 1001, exitCode: 143 });
    expect(byId['23']).toMatchObject({ state: 'TIMEOUT', cancelledBy: null, exitCode: 143, elapsedSeconds: 72 });
    // A failed srun step does not fail a job whose script went on to succeed.
    expect(byId['21']).toMatchObject({ state: 'COMPLETED', exitCode: 0 });
  });

  it('takes the largest peak of all steps: batch, extern and numbered steps', () => {
    expect(byId['21'].maxRssBytes).toBe(11022336);
    expect(byId['21'].cpuSeconds).toBeCloseTo(0.037);
  });

  it('keeps free text: pipes, and the backquotes Slurm stores for double quotes', () => {
    expect(byId['24']).toMatchObject({ name: "it's `quoted` | $(x)", comment: 'a|b c=d', elapsedSeconds: 0 });
    expect(byId['24'].cpuEfficiency).toBeNull(); // ran 0 s
    expect(byId['25'].name).toBe('two\nlines');
  });

  it('reads array tasks as jobs of their own', () => {
    expect(byId['20_1']).toMatchObject({ name: 'sweep', state: 'COMPLETED', exitCode: 0 });
    expect(byId['20_2']).toMatchObject({ name: 'sweep', state: 'FAILED', exitCode: 1, maxRssBytes: 3268608 });
  });

  it('gives no exit code or efficiency to running and pending jobs', () => {
    expect(byId['28']).toMatchObject({
      state: 'RUNNING',
      exitCode: null,
      end: null,
      cpus: 6,
      cpuEfficiency: null,
      maxRssBytes: null,
      memEfficiency: null
    });
    expect(byId['29']).toMatchObject({
      state: 'PENDING',
      exitCode: null,
      start: null,
      end: null,
      nodes: null,
      cpus: 4,
      gpus: 0,
      elapsedSeconds: 0
    });
  });

  it('caps efficiencies at 1 and keeps them in range', () => {
    for (const job of jobs) {
      for (const value of [job.cpuEfficiency, job.memEfficiency]) {
        if (value !== null) {
          expect(value).toBeGreaterThanOrEqual(0);
          expect(value).toBeLessThanOrEqual(1);
        }
      }
    }
  });
});

describe('parseHistory on hand-written rows', () => {
  it('folds 123.batch, 123.extern and 123.0 into 123 and 123_4.batch into 123_4', () => {
    const out = [
      line({ JobID: '123', JobName: 'train', Partition: 'gpu', AllocCPUS: '4', TotalCPU: '05:00', ReqMem: '16G' }),
      line({ JobID: '123.batch', JobName: 'batch', MaxRSS: '2147483648', TotalCPU: '01:00.500' }),
      line({ JobID: '123.extern', JobName: 'extern', MaxRSS: '1048576' }),
      line({ JobID: '123.0', JobName: 'python', MaxRSS: '4294967296', TotalCPU: '03:59.500' }),
      line({ JobID: '123_4', JobName: 'sweep', ReqMem: '1G' }),
      line({ JobID: '123_4.batch', JobName: 'batch', MaxRSS: '536870912' })
    ].join('\n');
    const [job, task] = parseHistory(`${out}\n`);
    expect(job).toMatchObject({
      jobId: '123',
      cpus: 4,
      cpuSeconds: 300,
      cpuEfficiency: 300 / 400,
      reqMemBytes: 16 * 2 ** 30,
      maxRssBytes: 4 * 2 ** 30,
      memEfficiency: 0.25
    });
    expect(task).toMatchObject({ jobId: '123_4', maxRssBytes: 512 * MiB, memEfficiency: 0.5 });
  });

  it('reads an empty MaxRSS everywhere as no peak, and no memory efficiency', () => {
    const [job] = parseHistory(
      [line({ JobID: '7', ReqMem: '1G' }), line({ JobID: '7.batch', MaxRSS: '' }), line({ JobID: '7.extern' })].join(
        '\n'
      )
    );
    expect(job).toMatchObject({ maxRssBytes: null, memEfficiency: null, reqMemBytes: 2 ** 30 });
  });

  it('reads CANCELLED by uid, and a job cancelled before it started has no exit code', () => {
    const [ran, never] = parseHistory(
      [
        line({ JobID: '8', State: 'CANCELLED by 0' }),
        line({ JobID: '8.batch', State: 'CANCELLED', ExitCode: '0:15' }),
        line({ JobID: '9', State: 'CANCELLED by 1001', Start: 'Unknown', End: '2026-11-20T10:00:05', ElapsedRaw: '0' })
      ].join('\n')
    );
    expect(ran).toMatchObject({ state: 'CANCELLED', cancelledBy: 0, exitCode: 143 });
    expect(never).toMatchObject({ state: 'CANCELLED', cancelledBy: 1001, exitCode: null, start: null });
  });

  it("reads older Slurm's per-node and per-CPU ReqMem as the whole job's", () => {
    const [perNode, perCpu] = parseHistory(
      [
        line({ JobID: '10', ReqMem: '4000Mn', NNodes: '2', AllocCPUS: '8' }),
        line({ JobID: '10.0', MaxRSS: '2000M' }),
        line({ JobID: '11', ReqMem: '2Gc', AllocCPUS: '4' }),
        line({ JobID: '11.batch', MaxRSS: '1.5G' })
      ].join('\n')
    );
    expect(perNode).toMatchObject({ reqMemBytes: 8000 * MiB, maxRssBytes: 2000 * MiB, memEfficiency: 0.5 });
    expect(perCpu).toMatchObject({ reqMemBytes: 8 * 2 ** 30, memEfficiency: 1.5 / 8 });
  });

  it('counts GPUs from AllocTRES, typed ones when no total is given', () => {
    const jobs = parseHistory(
      [
        line({ JobID: '1', AllocTRES: 'billing=4,cpu=4,gres/gpu:a100=2,gres/gpu=2,mem=16G,node=1' }),
        line({ JobID: '2', AllocTRES: 'cpu=4,gres/gpu:a100=1,gres/gpu:v100=2,node=1' }),
        line({ JobID: '3', AllocTRES: 'cpu=1,gres/gpumem=8G,node=1' })
      ].join('\n')
    );
    expect(jobs.map(j => j.gpus)).toEqual([2, 3, 0]);
  });

  it('caps efficiencies at 1 when a job used more than it was given', () => {
    const [job] = parseHistory(
      [
        line({ JobID: '5', AllocCPUS: '1', ElapsedRaw: '10', TotalCPU: '00:20', ReqMem: '100M' }),
        line({ JobID: '5.batch', MaxRSS: '200M' })
      ].join('\n')
    );
    expect(job).toMatchObject({ cpuEfficiency: 1, memEfficiency: 1 });
  });

  it('reads empty output as no jobs', () => {
    expect(parseHistory('')).toEqual([]);
  });

  it('names the record it cannot read', () => {
    expect(() => parseHistory(`1${US}2\n`)).toThrow(/sacct record 1: expected 17 fields, got 2/);
    expect(() => parseHistory(`${line({ JobID: '1' })}${US}extra\n`)).toThrow(/expected 17 fields, got 18/);
    expect(() => parseHistory(line({ JobID: '1.batch' }))).toThrow(/step 1.batch comes before job 1/);
    expect(() => parseHistory([line({ JobID: '1' }), line({ JobID: '1' })].join('\n'))).toThrow(/job 1 appears twice/);
    expect(() => parseHistory(line({ JobID: '1', AllocCPUS: 'four' }))).toThrow(
      /sacct job 1: AllocCPUS: expected a whole number, got "four"/
    );
    expect(() => parseHistory(line({ JobID: '1', ExitCode: '0' }))).toThrow(SchedulerError);
    expect(() => parseHistory(line({ JobID: '1', State: 'CANCELLED by root' }))).toThrow(/State: unexpected/);
  });
});

describe('field readers', () => {
  it.each([
    ['0:0', 0],
    ['3:0', 3],
    ['0:9', 137],
    ['0:15', 143],
    ['1:0', 1],
    ['', null]
  ])('exit status %j → %j', (text, status) => {
    expect(exitStatus(text)).toBe(status);
  });

  it.each([
    ['00:02.217', 2.217],
    ['00:00:00', 0],
    ['12:34.5', 754.5],
    ['01:02:03', 3723],
    ['1-02:03:04', 93784]
  ])('TotalCPU %j → %j s', (text, seconds) => {
    expect(cpuTimeSeconds(text)).toBeCloseTo(seconds);
  });

  it('reads an empty TotalCPU as none', () => {
    expect(cpuTimeSeconds('')).toBeNull();
  });

  it('refuses a TotalCPU that is not a duration', () => {
    expect(() => cpuTimeSeconds('soon')).toThrow(/TotalCPU: unrecognized "soon"/);
  });

  it.each([
    ['219844608', 219844608, null],
    ['214448K', 214448 * 1024, null],
    ['1024M', 1024 * MiB, null],
    ['1.50G', 1.5 * 2 ** 30, null],
    ['2T', 2 * 2 ** 40, null],
    ['4000Mn', 4000 * MiB, 'node'],
    ['2000Mc', 2000 * MiB, 'cpu'],
    ['0', 0, null]
  ])('memory %s', (text, bytes, per) => {
    expect(parseMemory('MaxRSS', text)).toEqual({ bytes, per });
  });

  it('reads an empty size as none and refuses others by name', () => {
    expect(parseMemory('MaxRSS', '')).toBeNull();
    expect(() => parseMemory('ReqMem', '4 GB')).toThrow(/ReqMem: expected a size such as 512M or 4Gn, got "4 GB"/);
    expect(() => parseMemory('ReqMem', '4Gx')).toThrow(SchedulerError);
  });
});
