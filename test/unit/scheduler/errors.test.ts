import { slurmError } from '../../../server/scheduler/slurm/errors';

describe('slurmError', () => {
  it.each([
    [
      'sbatch',
      'sbatch: error: invalid partition specified: foo\nsbatch: error: Batch job submission failed: Invalid partition name specified\n',
      'invalid-request',
      "Slurm has no partition 'foo'"
    ],
    [
      'sbatch',
      'sbatch: error: Batch job submission failed: Invalid partition name specified',
      'invalid-request',
      'Slurm has no such partition'
    ],
    ['sbatch', 'sbatch: error: Invalid generic resource (gres) specification\n', 'invalid-request', /no such GPU/],
    [
      'sbatch',
      'sbatch: error: Batch job submission failed: Requested node configuration is not available',
      'invalid-request',
      /no node in the partition/
    ],
    [
      'sbatch',
      "sbatch: error: Batch job submission failed: Job violates accounting/QOS policy (job submit limit, user's size and/or time limits)",
      'invalid-request',
      /limit of your account/
    ],
    [
      'sbatch',
      'sbatch: error: Batch job submission failed: Requested time limit is invalid (missing or exceeds some limit)',
      'invalid-request',
      /time limit/
    ],
    // sacct on a cluster with AccountingStorageType=accounting_storage/none (recorded, exit 1).
    ['sacct', 'Slurm accounting storage is disabled\n', 'no-accounting', /keeps no job accounting/],
    ['scontrol', 'Invalid job id specified for job 999\n', 'not-found', /no such job/],
    ['scontrol', 'slurm_load_jobs error: Invalid job id specified', 'not-found', /no such job/],
    [
      'scancel',
      'scancel: error: Kill job error on job id 12: Job/step already completing or completed',
      'not-found',
      'the job has already finished'
    ],
    ['scontrol', 'Job has already finished for job 12', 'not-found', 'the job has already finished'],
    [
      'scancel',
      'scancel: error: Kill job error on job id 12: Access/permission denied',
      'permission',
      /does not allow/
    ],
    ['scontrol', 'Access/permission denied for job 12', 'permission', /does not allow/],
    [
      'squeue',
      'slurm_load_jobs error: Unable to contact slurm controller (connect failure)',
      'unavailable',
      /not answering/
    ],
    ['sinfo', 'slurm_load_partitions: Socket timed out on send/recv operation', 'unavailable', /not answering/],
    ['scontrol', 'Job is no longer pending execution for job 12', 'invalid-request', /already started/]
  ])('%s: %s', (tool, stderr, kind, message) => {
    const error = slurmError(tool, 1, stderr);
    expect(error.kind).toBe(kind);
    expect(error.message).toEqual(typeof message === 'string' ? message : expect.stringMatching(message));
    expect(error.detail).toBe(stderr.trim());
  });

  it('falls back to the first error line', () => {
    const error = slurmError(
      '/usr/bin/sbatch',
      1,
      'sbatch: warning: something\nsbatch: error: Something new went wrong\nmore\n'
    );
    expect(error).toMatchObject({ kind: 'failed', message: 'sbatch failed: Something new went wrong' });
    expect(slurmError('squeue', 137, '')).toMatchObject({
      kind: 'failed',
      message: 'squeue failed with exit code 137',
      detail: 'squeue exited with code 137'
    });
    expect(slurmError('squeue', null, '')).toMatchObject({
      kind: 'failed',
      message: 'squeue failed with exit code none (killed)'
    });
  });

  it('names the Slurm tool behind an env prefix', () => {
    const argv = ['env', 'SLURM_TIME_FORMAT=standard', 'squeue', '--me'];
    expect(slurmError(argv, 1, 'squeue: error: Something odd').message).toBe('squeue failed: Something odd');
    expect(slurmError('env', 1, '').message).toBe('Slurm failed with exit code 1');
  });

  it('says when the command is missing on the cluster', () => {
    expect(slurmError('squeue', 127, 'bash: line 1: squeue: command not found')).toMatchObject({
      kind: 'failed',
      message: 'squeue was not found on the cluster (is Slurm on the PATH?)'
    });
  });
});
