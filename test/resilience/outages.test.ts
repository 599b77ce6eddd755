import { execFileSync } from 'node:child_process';
import type { SessionInfo } from '../../server/sessions/types';
import { runOnKernel } from '../support/companion';
import { dropSshConnections, testbed, waitFor } from '../support/testbed';
import { companionForSuite, daemon, record, runningLab, startNotebook } from './faults';

/** How long the login node or slurmctld stays down (the minute; shorter only by hand). */
const OUTAGE_MS = Number(process.env.HPCLAB_OUTAGE_SEC ?? 60) * 1000;

/**
 * The cluster side failing under running sessions: the SSH link cut, the login node's sshd down
 * for a minute, slurmctld down for a minute. What the user sees is asserted through the API the
 * UI reads; what must not happen (a session marked dead, a kernel losing its variables) too.
 */
describe('outages on the cluster side', () => {
  const env = testbed();
  // A run stopped halfway may have left a daemon down (start is idempotent).
  beforeAll(() => (['sshd', 'slurmctld', 'slurmd'] as const).forEach(name => daemon('start', name)));
  const companion = companionForSuite();
  let lab: SessionInfo;
  let labKernel: string;

  beforeAll(async () => {
    lab = await runningLab(companion());
    labKernel = (await companion().json<{ id: string }>(`${lab.baseUrl}api/kernels`, { method: 'POST', body: '{}' }))
      .id;
    expect(await labRun('z = 7 * 6\nprint(z)')).toBe('42\n');
  });

  const labRun = (code: string) =>
    runOnKernel(
      `${companion().url.replace(/^http/, 'ws')}${lab.baseUrl.slice(1)}api/kernels/${labKernel}/channels`,
      { Authorization: `token ${companion().token}` },
      code
    );
  const status = () => companion().json<{ error?: string }>('/hpclab/api/clusters/testbed/status');
  const labState = async () => (await companion().json<SessionInfo>(`/hpclab/api/sessions/${lab.id}`)).state;

  /** The live event stream the sidebar reads, as text, until `stop()`. */
  const listen = async () => {
    const aborted = new AbortController();
    const res = await companion().fetch('/hpclab/events', { signal: aborted.signal });
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const reading = (async () => {
      for (;;) {
        // An abort (our own stop) ends the read with an error: that is the end of the stream here.
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true as const }));
        if (done) return;
        text += decoder.decode(value, { stream: true });
      }
    })();
    return { text: () => text, stop: () => (aborted.abort(), reading) };
  };
  /** The state of each `link` event of the stream, in order. */
  const linkStates = (text: string) =>
    [...text.matchAll(/^event: link\ndata: (.*)$/gm)].map(m => (JSON.parse(m[1]) as { state: string }).state);

  it('a dropped SSH link is re-made: the Lab proxy and a remote kernel resume with their state', async () => {
    const nb = await startNotebook();
    try {
      await nb.until('the cell to be running', () => nb.steps.executing, 120_000);
      const t0 = Date.now();
      expect(dropSshConnections(env.pidFiles.sshdLogin)).toBeGreaterThan(0);
      const out = await waitFor('the Lab through a new link', () => labRun('print(z)'), 60_000, 500);
      expect(out).toBe('42\n');
      const labBack = Date.now() - t0;
      await nb.go();
      await nb.until('the kernel back', () => nb.steps.after, 150_000);
      expect(nb.steps.after.out).toBe('42 43\n');
      record(
        'SSH link dropped (sshd children killed)',
        'a pause; Lab proxy and remote kernel resume on a new connection, variables kept',
        labBack
      );
      expect(await labState()).toBe('running');
    } finally {
      await nb.stop();
    }
  }, 300_000);

  it(`sshd down for ${OUTAGE_MS / 1000} s: "cluster unreachable", nothing marked dead, back by itself`, async () => {
    const nb = await startNotebook();
    try {
      await nb.until('the cell to be running', () => nb.steps.executing, 120_000);
      const events = await listen();
      daemon('stop', 'sshd');
      const down = Date.now();
      const said = await waitFor(
        'the cluster to be shown unreachable',
        async () => (await status()).error,
        60_000,
        1000
      );
      expect(said).toMatch(/^cluster unreachable: /);
      // The proxy says so too, in the same words, at once and not after its connect timeout;
      // the session is still running and the page retries by itself.
      const asked = Date.now();
      const proxied = await companion().fetch(`${lab.baseUrl}api/status`, { headers: { Accept: 'application/json' } });
      const answeredMs = Date.now() - asked;
      expect(proxied.status).toBe(503);
      expect(proxied.headers.get('retry-after')).toBe('5');
      const page = (await proxied.json()) as { error: { code: string; message: string; state: string } };
      expect(page.error).toMatchObject({ code: 'session-unavailable', state: 'running' });
      expect(page.error.message).toMatch(/^cluster unreachable: .*The session keeps running on its node/);
      process.stderr.write(
        `resilience: proxy answered "${page.error.message.slice(0, 50)}…" in ${answeredMs} ms during the outage\n`
      );
      await new Promise(r => setTimeout(r, Math.max(0, OUTAGE_MS - (Date.now() - down))));
      expect(await labState()).toBe('running');
      daemon('start', 'sshd');
      const up = Date.now();
      await waitFor(
        'the status to clear by itself',
        async () => ((await status()).error ? undefined : true),
        120_000,
        1000
      );
      // The sidebar heard it all as it happened: the link lost (retrying, then down), then up again.
      const states = await waitFor(
        'a link event saying the link is up again',
        async () => (linkStates(events.text()).at(-1) === 'up' ? linkStates(events.text()) : undefined),
        30_000,
        500
      );
      await events.stop();
      expect(states.slice(0, -1).length).toBeGreaterThan(0);
      expect(states.slice(0, -1).every(s => s === 'reconnecting' || s === 'down')).toBe(true);
      expect(await waitFor('the Lab back', () => labRun('print(z)'), 60_000, 500)).toBe('42\n');
      const recovered = Date.now() - up;
      await nb.go();
      await nb.until('the kernel back', () => nb.steps.after, 150_000);
      expect(nb.steps.after.out).toBe('42 43\n');
      record(
        `login sshd down ${OUTAGE_MS / 1000} s`,
        `"${said.slice(0, 60)}…"; session stayed running; Lab and remote kernel back with their variables`,
        recovered
      );
    } finally {
      daemon('start', 'sshd');
      await nb.stop();
    }
  }, 420_000);

  it(`slurmctld down for ${OUTAGE_MS / 1000} s: "scheduler unreachable", the Lab keeps working, no session ended`, async () => {
    const jobBefore = (await companion().json<SessionInfo>(`/hpclab/api/sessions/${lab.id}`)).jobId;
    daemon('stop', 'slurmctld');
    const down = Date.now();
    try {
      const said = await waitFor(
        'the scheduler to be shown unreachable',
        async () => (await status()).error,
        60_000,
        1000
      );
      expect(said).toMatch(/^scheduler unreachable: /);
      // A new request says so at once, and nothing is left half-made.
      const refused = await companion().fetch('/hpclab/api/sessions', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ kind: 'lab', profile: 'cpu' })
      });
      expect(refused.status).toBe(503);
      expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(/scheduler unreachable/);
      // The Lab runs on the node, not in slurmctld: it keeps working through the outage.
      expect(await labRun('print(z)')).toBe('42\n');
      await new Promise(r => setTimeout(r, Math.max(0, OUTAGE_MS - (Date.now() - down))));
      expect(await labState()).toBe('running');
    } finally {
      daemon('start', 'slurmctld');
    }
    const up = Date.now();
    await waitFor(
      'the status to clear by itself',
      async () => ((await status()).error ? undefined : true),
      120_000,
      1000
    );
    const recovered = Date.now() - up;
    const after = await companion().json<SessionInfo[]>('/hpclab/api/sessions');
    expect(after.filter(s => s.state !== 'ended' && s.state !== 'failed').map(s => s.id)).toContain(lab.id);
    expect(after.find(s => s.id === lab.id)?.jobId).toBe(jobBefore);
    expect(after.filter(s => s.state === 'failed')).toEqual([]);
    record(
      `slurmctld down ${OUTAGE_MS / 1000} s`,
      '"scheduler unreachable: …"; new requests refused with 503; Lab kept working; nothing ended',
      recovered
    );
  }, 300_000);

  it('the node fails (slurmd killed, node set down): the session ends with reason node failure and the log tail', async () => {
    const t0 = Date.now();
    daemon('stop', 'slurmd');
    try {
      execFileSync('scontrol', ['update', `nodename=${env.node}`, 'state=down', 'reason=resilience test: node lost']);
      const ended = await waitFor(
        'the session to end',
        async () => {
          const s = await companion().json<SessionInfo>(`/hpclab/api/sessions/${lab.id}`);
          return s.state === 'failed' || s.state === 'ended' ? s : undefined;
        },
        90_000,
        500
      );
      expect(ended).toMatchObject({ state: 'failed', endReason: 'node-failure' });
      expect(ended.message).toMatch(/The compute node failed\.[\s\S]*--- end of the job log ---/);
      // The proxy says the session is over instead of trying the node.
      expect((await companion().fetch(`${lab.baseUrl}api/status`)).status).toBe(503);
      record(
        'node failure (slurmd killed, node down)',
        'session failed: "The compute node failed." + end of the job log; proxy 503',
        Date.now() - t0,
        'the Lab itself (the node is gone)'
      );
    } finally {
      daemon('start', 'slurmd');
      // Slurm may already have returned the node to service when its slurmd registered again.
      try {
        execFileSync('scontrol', ['update', `nodename=${env.node}`, 'state=resume'], { stdio: 'ignore' });
      } catch {
        // not down any more
      }
      await waitFor(
        'the node back',
        () => /idle|mix|alloc/.test(execFileSync('sinfo', ['-h', '-n', env.node, '-o', '%t'], { encoding: 'utf8' })),
        120_000,
        1000
      );
    }
  }, 300_000);
});
