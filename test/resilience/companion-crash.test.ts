import { execFileSync } from 'node:child_process';
import WebSocket from 'ws';
import type { SessionInfo } from '../../server/sessions/types';
import { runOnKernel } from '../support/companion';
import { waitFor } from '../support/testbed';
import { companionForSuite, EventTap, fillNode, record, runningLab, squeueIds, startNotebook } from './faults';

/**
 * kill -9 of the companion at the worst moments: a session waiting in the queue, a Lab with an
 * open WebSocket, a remote kernel in the middle of a cell. After the restart the sessions are
 * re-attached, a variable defined before the crash is still there, and live events resume.
 */
describe('the companion killed with -9', () => {
  const companion = companionForSuite();

  const session = (id: string) => companion().json<SessionInfo>(`/hpclab/api/sessions/${id}`);
  const until = (id: string, states: string[], ms = 60_000) =>
    waitFor(
      `session ${id} to be ${states.join(' or ')}`,
      async () => {
        const s = await session(id);
        return states.includes(s.state) ? s : undefined;
      },
      ms,
      300
    );

  it('while a session waits in the queue: the same job is followed after the restart, and starts', async () => {
    const filler = await fillNode();
    try {
      await pendingThenRunning(filler);
    } finally {
      execFileSync('scancel', [filler]);
    }
  });

  async function pendingThenRunning(filler: string) {
    const s = await companion().json<SessionInfo>('/hpclab/api/sessions', {
      method: 'POST',
      body: JSON.stringify({ kind: 'lab', profile: 'cpu' })
    });
    await waitFor('a queue reason', async () => /Resources|Priority/.test((await session(s.id)).pending?.reason ?? ''));
    await companion().kill9();
    const t0 = Date.now();
    await companion().start();
    const tap = await EventTap.open(companion().url, companion().token);
    const again = await session(s.id);
    const recovered = Date.now() - t0;
    expect(again).toMatchObject({ state: 'pending', jobId: s.jobId });
    // squeue may say "None" for a moment while Slurm's scheduler looks at the job again (a CI run
    // saw it right after the restart); the queue's reason must come back to the restarted companion.
    await waitFor('the queue reason after the restart', async () =>
      /Resources|Priority/.test((await session(s.id)).pending?.reason ?? '')
    );
    execFileSync('scancel', [filler]);
    const running = await until(s.id, ['running']);
    expect(running.jobId).toBe(s.jobId);
    // The UI's live events resume on the new companion: the start arrives as an event.
    await waitFor(
      'the running event',
      () => tap.text().includes(`"id":"${s.id}"`) && /"state":"running"/.test(tap.text())
    );
    tap.close();
    expect(squeueIds().filter(id => id === s.jobId)).toHaveLength(1); // no second job
    record(
      'companion kill -9, session pending',
      `still pending (same job ${s.jobId}), then running; events resumed`,
      recovered
    );
    await companion().json(`/hpclab/api/sessions/${s.id}`, { method: 'DELETE' });
  }

  it('while a Lab has an open WebSocket: the socket closes, a new one finds the kernel and its variable', async () => {
    const running = await runningLab(companion());
    const s = running;
    const kernel = await companion().json<{ id: string }>(`${running.baseUrl}api/kernels`, {
      method: 'POST',
      body: '{}'
    });
    const wsUrl = () =>
      `${companion().url.replace(/^http/, 'ws')}${running.baseUrl.slice(1)}api/kernels/${kernel.id}/channels`;
    expect(await runOnKernel(wsUrl(), { Authorization: `token ${companion().token}` }, 'x = 6 * 7\nprint(x)')).toBe(
      '42\n'
    );
    // A socket held open across the crash, as a notebook tab holds one.
    const open = new WebSocket(wsUrl(), { headers: { Authorization: `token ${companion().token}` } });
    await new Promise((resolve, reject) => open.once('open', resolve).once('error', reject));
    const closed = new Promise<number>(resolve => open.once('close', code => resolve(code)));
    await companion().kill9();
    expect(await closed).toBe(1006); // abnormal closure: the tab reconnects
    const t0 = Date.now();
    await companion().start();
    const out = await waitFor(
      'the kernel through the new companion',
      () => runOnKernel(wsUrl(), { Authorization: `token ${companion().token}` }, 'print(x)'),
      60_000,
      500
    );
    expect(out).toBe('42\n');
    expect((await session(s.id)).jobId).toBe(s.jobId);
    record(
      'companion kill -9, Lab WebSocket open',
      'socket closed (1006); reconnect finds the kernel, x == 42',
      Date.now() - t0
    );
    await companion().json(`/hpclab/api/sessions/${s.id}`, { method: 'DELETE' });
  });

  it('while a remote kernel runs a cell: the launcher gets a companion back and the kernel keeps its state', async () => {
    const nb = await startNotebook();
    try {
      await nb.until('the cell to be running', () => nb.steps.executing, 120_000);
      expect(nb.steps.defined.out).toBe('42\n');
      const first = await nb.companion();
      const t0 = Date.now();
      process.kill(first.pid, 'SIGKILL');
      const second = await waitFor(
        'a new companion',
        async () => {
          const info = await nb.companion();
          return info.pid !== first.pid ? info : undefined;
        },
        60_000
      );
      await nb.until(
        'the launcher to re-attach',
        () => nb.stderr().includes('re-attached to the running kernel'),
        60_000
      );
      const recovered = Date.now() - t0;
      await nb.go();
      await nb.until('the kernel back', () => nb.steps.after, 150_000);
      expect(nb.steps.after.out).toBe('42 43\n'); // x from before the crash, y from the cell that ran through it
      record(
        'companion kill -9, remote kernel mid-cell',
        `launcher started a companion again (pid ${second.pid}) and re-attached; x and the cell's y kept`,
        recovered
      );
      expect(await nb.exited).toBe(0);
    } finally {
      await nb.stop();
    }
  }, 300_000);
});
