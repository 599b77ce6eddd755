import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { countIndexes, describeDetail, exitCodeOf, followJob } from '../../../server/runs/follow';
import { parseJobDetail } from '../../../server/scheduler/slurm/parse-scontrol';
import type { Scheduler } from '../../../server/scheduler/types';

/** `submit --wait`, fed `scontrol show job` lines recorded on the testbed. */

const recorded = (name: string) =>
  parseJobDetail(readFileSync(path.join(__dirname, '../../fixtures/slurm/recorded', name), 'utf8').trim());

it('reads exit codes as the shell would: a status, or 128 + the signal', () => {
  expect(exitCodeOf('0:0')).toBe(0);
  expect(exitCodeOf('3:0')).toBe(3);
  expect(exitCodeOf('0:9')).toBe(137);
  expect(exitCodeOf(undefined)).toBeNull();
});

it('says where a job is: pending with its reason, running on its node', () => {
  expect(describeDetail(recorded('scontrol-job-pending.txt'))).toMatch(/^PENDING \(\w+\)/);
  expect(describeDetail(recorded('scontrol-job-running.txt'))).toMatch(/^RUNNING on \S+ for \d/);
});

it('follows a job to its end, saying each change once, and returns how it ended', async () => {
  const pending = recorded('scontrol-job-pending.txt');
  const running = recorded('scontrol-job-running.txt');
  const steps = [
    pending,
    pending,
    running,
    { ...running, JobState: 'FAILED', ExitCode: '2:0', Reason: 'NonZeroExitCode' }
  ];
  const scheduler = { jobDetails: async () => [steps.shift()!] } as unknown as Scheduler;
  const said: string[] = [];
  const outcome = await followJob(scheduler, '42', w => said.push(w), { intervalMs: 1 });
  expect(outcome).toMatchObject({ state: 'FAILED', exitCode: 2, reason: 'NonZeroExitCode' });
  expect(outcome.tasks).toHaveLength(1);
  expect(said).toHaveLength(3);
  expect(said[0]).toMatch(/^job 42: PENDING/);
  expect(said[2]).toBe('job 42: FAILED');
});

it('counts the indexes an array spec stands for', () => {
  expect(countIndexes('5-8%2')).toBe(4);
  expect(countIndexes('1,3,5')).toBe(3);
  expect(countIndexes('0-15:4')).toBe(4);
  expect(countIndexes('7')).toBe(1);
});
