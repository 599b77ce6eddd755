import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { SchedulerError } from '../../../server/scheduler/errors';
import { parseJobDetail, parseJobDetails } from '../../../server/scheduler/slurm/parse-scontrol';

const fixture = (name: string) => readFileSync(path.join(__dirname, '../../fixtures/slurm', name), 'utf8');

describe('parseJobDetail', () => {
  const [running, pending] = parseJobDetails(fixture('scontrol-job.txt'));

  it('reads key/value pairs, values with spaces included', () => {
    expect(running.JobId).toBe('101');
    expect(running.JobName).toBe('train model v2');
    expect(running.UserId).toBe('alice(1000)');
    expect(running.WorkDir).toBe('/home/alice/my project');
    expect(running.StdOut).toBe('/home/alice/my project/train model v2.101.out');
    expect(running.Command).toBe('(null)');
    expect(running.Power).toBe('');
    expect(running.TresPerNode).toBe('gres:gpu:a100:2');
  });

  it('keeps "=" inside values and odd keys whole', () => {
    expect(running.TRES).toBe('cpu=8,mem=16G,node=1,billing=8,gres/gpu=2,gres/gpu:a100=2');
    expect(running['AllocNode:Sid']).toBe('login1:4242');
    expect(running['Socks/Node']).toBe('*');
    expect(running['NtasksPerN:B:S:C']).toBe('0:0:*:*');
    expect(running['CPUs/Task']).toBe('8');
  });

  it('keeps " word=" inside free text when word is not a scontrol key', () => {
    expect(running.Comment).toBe('hpclab-s1 lr=0.1 seed=3');
    expect(running).not.toHaveProperty('lr');
    expect(running).not.toHaveProperty('seed');
  });

  it('reads a pending array task', () => {
    expect(pending).toMatchObject({
      JobId: '205',
      ArrayJobId: '200',
      ArrayTaskId: '3-8%2',
      JobState: 'PENDING',
      Reason: 'ReqNodeNotAvail,_UnavailableNodes:c3',
      StartTime: 'Unknown',
      NodeList: '(null)',
      Power: ''
    });
  });

  it('names a line that is not Key=Value pairs', () => {
    expect(() => parseJobDetail('slurm_load_jobs error: Invalid job id specified')).toThrow(SchedulerError);
    expect(() => parseJobDetail('No jobs in the system')).toThrow(/not Key=Value pairs: "No jobs in the system"/);
    expect(parseJobDetails('\n')).toEqual([]);
  });
});
