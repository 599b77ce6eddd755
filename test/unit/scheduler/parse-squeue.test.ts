import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { SchedulerError } from '../../../server/scheduler/errors';
import { parseJobs } from '../../../server/scheduler/slurm/parse-squeue';

const fixture = (name: string) => readFileSync(path.join(__dirname, '../../fixtures/slurm', name), 'utf8');
const local = (text: string) => new Date(text); // ISO without zone is local time in JS too

describe('parseJobs', () => {
  const jobs = parseJobs(fixture('squeue-me.txt'));
  const byId = Object.fromEntries(jobs.map(j => [j.id, j]));

  it('reads every record in squeue order', () => {
    expect(jobs.map(j => j.id)).toEqual([
      '101',
      '102',
      '103',
      '104',
      '200_1',
      '200_2',
      '200_[3-8%2]',
      '300_[1,3,5]',
      '105',
      '106',
      '107'
    ]);
  });

  it('reads a running job', () => {
    expect(byId['101']).toEqual({
      id: '101',
      arrayJobId: null,
      arrayTaskId: null,
      name: 'train model v2',
      user: 'alice',
      state: 'RUNNING',
      reason: 'None',
      partition: 'gpu',
      nodes: 'gpu01',
      numNodes: 1,
      numCpus: 8,
      timeUsed: 3723,
      timeLimit: 86400,
      timeLeft: 82677,
      submitTime: local('2026-11-22T01:00:00'),
      startTime: local('2026-11-22T01:02:03'),
      gres: 'gres:gpu:a100:2',
      comment: 'hpclab-s1',
      workDir: '/home/alice/my project'
    });
  });

  it('keeps free text verbatim: quotes, pipes, newlines, spaces', () => {
    expect(byId['102'].name).toBe('it\'s "quoted" | $(rm -rf ~) `x`');
    expect(byId['103'].name).toBe('a|b|c');
    expect(byId['103'].comment).toBe('a|b c=d');
    expect(byId['106'].name).toBe('two\nlines');
    expect(byId['107'].name).toBe(' padded ');
  });

  it('reads pending jobs: reasons, no nodes, no time left, estimated start', () => {
    expect(byId['102']).toMatchObject({
      state: 'PENDING',
      reason: 'Priority',
      nodes: null,
      timeLeft: null,
      startTime: null,
      comment: null
    });
    expect(byId['103']).toMatchObject({
      reason: 'Resources',
      partition: 'gpu,batch',
      startTime: local('2026-11-23T09:30:00'),
      numNodes: 2
    });
    expect(byId['104']).toMatchObject({
      reason: 'ReqNodeNotAvail, UnavailableNodes:c3',
      nodes: null,
      gres: null,
      timeLimit: 1800
    });
    expect(byId['107']).toMatchObject({ reason: 'Dependency', timeLimit: null });
  });

  it('keeps array id and task id per row, pending ranges as one row', () => {
    expect(byId['200_1']).toMatchObject({ arrayJobId: '200', arrayTaskId: '1', state: 'RUNNING', nodes: 'c4' });
    expect(byId['200_2']).toMatchObject({ arrayJobId: '200', arrayTaskId: '2' });
    expect(byId['200_[3-8%2]']).toMatchObject({
      arrayJobId: '200',
      arrayTaskId: '[3-8%2]',
      reason: 'JobArrayTaskLimit'
    });
    expect(byId['300_[1,3,5]']).toMatchObject({
      arrayJobId: '300',
      arrayTaskId: '[1,3,5]',
      timeLimit: null,
      timeLeft: null
    });
  });

  it('reads unlimited and invalid times as null', () => {
    expect(byId['105']).toMatchObject({
      timeUsed: 3 * 86400 + 3600,
      timeLimit: null,
      timeLeft: null,
      gres: 'gres:gpu:fake:1'
    });
    expect(byId['106']).toMatchObject({ state: 'COMPLETING', timeLeft: null, timeLimit: 3600 });
  });

  it('reads empty output as no jobs', () => {
    expect(parseJobs('')).toEqual([]);
  });

  it('names the record it cannot read', () => {
    expect(() => parseJobs('101|101|N/A|alice\n')).toThrow(/does not end with a record separator/);
    const short = '101\x1f101\x1e\n';
    expect(() => parseJobs(short)).toThrow(SchedulerError);
    expect(() => parseJobs(short)).toThrow(/squeue record 1: expected 19 fields, got 2: "101\\u001f101"/);
    const record = fixture('squeue-me.txt').split('\x1e\n')[0].replace('\x1f8\x1f', '\x1feight\x1f');
    expect(() => parseJobs(record + '\x1e\n')).toThrow(
      /squeue record 1: NumCPUs: expected a whole number, got "eight"/
    );
    const badTime = fixture('squeue-me.txt').split('\x1e\n')[0].replace('2026-11-22T01:00:00', 'Tomorr 01:00');
    try {
      parseJobs(badTime + '\x1e\n');
      throw new Error('expected a parse error');
    } catch (error) {
      expect(error).toMatchObject({ kind: 'parse', detail: badTime });
      expect((error as Error).message).toMatch(/unrecognized Slurm timestamp "Tomorr 01:00"/);
    }
  });
});
