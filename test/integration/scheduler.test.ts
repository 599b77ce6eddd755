import { existsSync } from 'node:fs';
import type { ClusterRegistry } from '../../server/app';
import { SchedulerError } from '../../server/scheduler/errors';
import type { Job, Scheduler } from '../../server/scheduler/types';
import type { Transport } from '../../server/transport/types';
import { registry, scratchName } from '../support/clusters';
import { cancelAllJobs, testbed, waitFor } from '../support/testbed';

/** Every adapter call against the real Slurm, through both transports. */
describe.each(['local', 'testbed'])('Slurm adapter over the %s transport', cluster => {
  const env = testbed();
  let clusters: ClusterRegistry;
  let slurm: Scheduler;
  let transport: Transport;

  beforeAll(async () => {
    await cancelAllJobs();
    clusters = await registry();
    ({ scheduler: slurm, transport } = clusters.get(cluster));
  });
  // A failed test must not leave a job that blocks the next one's resources.
  afterEach(() => cancelAllJobs());
  afterAll(() => clusters.close());

  const job = async (id: string): Promise<Job | undefined> => (await slurm.myJobs()).find(j => j.id === id);

  it('summarises partitions: debug (default) and gpu, one node, 2 idle GPUs of type fake', async () => {
    const parts = await slurm.partitions();
    expect(parts.map(p => p.name)).toEqual(['debug', 'gpu']);
    expect(parts.find(p => p.name === 'debug')?.isDefault).toBe(true);
    for (const p of parts) {
      expect(p.available).toBe('up');
      expect(p.nodes).toMatchObject({ idle: 1, total: 1, down: 0 });
      expect(p.cpus).toEqual({ total: 8, allocated: 0, idle: 8 });
      expect(p.gpus).toEqual([{ type: 'fake', total: 2, used: 0 }]);
    }
  });

  it('submits a held job with a hostile name verbatim, lists it, releases it, and cancels it', async () => {
    const canary = scratchName('canary');
    const name = `it's "$(touch ${canary})" \`touch ${canary}\` | ; & *`;
    const id = await slurm.submit({
      script: '#!/bin/sh\nsleep 300\n',
      options: {
        jobName: name,
        partition: 'debug',
        time: '00:05:00',
        cpusPerTask: 1,
        comment: 'hpclab-test $(x)',
        hold: true,
        output: '/dev/null'
      }
    });
    expect(id).toMatch(/^\d+$/);
    const held = await job(id);
    expect(held).toMatchObject({
      name,
      state: 'PENDING',
      partition: 'debug',
      comment: 'hpclab-test $(x)',
      timeLimit: 300
    });
    expect(held?.reason).toMatch(/JobHeldUser/);
    expect((await slurm.jobDetail(id)).JobName).toBe(name);

    await slurm.release(id);
    const running = await waitFor('the job to run', async () =>
      (await job(id))?.state === 'RUNNING' ? job(id) : undefined
    );
    expect(running?.nodes).toBe(env.node);
    expect(running?.timeLeft).toBeGreaterThan(200);
    expect(running?.startTime).toBeInstanceOf(Date);

    await slurm.cancel(id);
    await waitFor('the job to leave the queue', async () => {
      const j = await job(id);
      return j === undefined || j.state === 'CANCELLED' || undefined;
    });
    expect(existsSync(canary)).toBe(false);
  });

  it('holds a job that waits for resources and releases it', async () => {
    const sleeper = {
      script: '#!/bin/sh\nsleep 300\n',
      options: { partition: 'debug', time: '5', cpusPerTask: 8, output: '/dev/null' }
    };
    const first = await slurm.submit({ ...sleeper, options: { ...sleeper.options, jobName: 'fill-node' } });
    await waitFor('the first job to run', async () => (await job(first))?.state === 'RUNNING');
    const second = await slurm.submit({ ...sleeper, options: { ...sleeper.options, jobName: 'wait-for-node' } });
    expect(await waitFor('a pending reason', async () => (await job(second))?.reason ?? undefined)).toMatch(
      /Resources|Priority|None/
    );
    await slurm.hold(second);
    // A user's hold is JobHeldUser; root's (the local transport here) is JobHeldAdmin.
    expect(await job(second)).toMatchObject({
      state: 'PENDING',
      reason: expect.stringMatching(/^JobHeld(User|Admin)$/)
    });
    await slurm.release(second);
    expect((await job(second))?.reason).not.toMatch(/Held/);
    await slurm.cancel(second);
    await slurm.cancel(first);
  });

  it('runs a GPU job that sees CUDA_VISIBLE_DEVICES on the compute node', async () => {
    const dir = scratchName(`gpu-${cluster}`);
    await transport.exec(['mkdir', '-m', '777', dir]);
    const id = await slurm.submit({
      script: '#!/bin/sh\necho "gpu=$CUDA_VISIBLE_DEVICES host=$(hostname) job=$SLURM_JOB_ID"\n',
      options: { jobName: 'gpu-check', partition: 'gpu', gres: 'gpu:1', time: '00:01:00', output: `${dir}/%x.%j.out` }
    });
    const text = await waitFor('the job output', async () => {
      const out = await transport.readFile(`${dir}/gpu-check.${id}.out`).catch(() => undefined);
      return out && out.length > 0 ? out.toString() : undefined;
    });
    expect(text).toMatch(new RegExp(`^gpu=[01] host=${env.node} job=${id}\\n$`));
    await transport.exec(['rm', '-rf', dir]);
  });

  it('turns Slurm refusals into plain typed errors', async () => {
    const script = '#!/bin/sh\ntrue\n';
    await expect(slurm.submit({ script, options: { partition: 'nosuch' } })).rejects.toMatchObject({
      kind: 'invalid-request',
      message: expect.stringMatching(/nosuch/)
    });
    await expect(slurm.submit({ script, options: { partition: 'gpu', gres: 'gpu:5' } })).rejects.toMatchObject({
      kind: 'invalid-request'
    });
    await expect(slurm.hold('999999')).rejects.toMatchObject({ kind: 'not-found' });
    await expect(slurm.jobDetail('999999')).rejects.toMatchObject({ kind: 'not-found' });
  });

  it('refuses hostile input before anything runs', async () => {
    const canary = scratchName('canary');
    const script = '#!/bin/sh\ntrue\n';
    await expect(slurm.submit({ script, options: { partition: `debug; touch ${canary}` } })).rejects.toMatchObject({
      kind: 'invalid-request',
      message: expect.stringMatching(/partition/)
    });
    await expect(slurm.submit({ script, options: { jobName: 'two\nlines' } })).rejects.toMatchObject({
      message: expect.stringMatching(/jobName|job name/i)
    });
    await expect(slurm.submit({ script, options: { time: '1h' } })).rejects.toMatchObject({
      message: expect.stringMatching(/time/)
    });
    await expect(slurm.cancel(`1; touch ${canary}`)).rejects.toBeInstanceOf(SchedulerError);
    await expect(slurm.submit({ script: 'echo no shebang', options: {} })).rejects.toMatchObject({
      message: expect.stringMatching(/#!/)
    });
    expect(existsSync(canary)).toBe(false);
  });
});
