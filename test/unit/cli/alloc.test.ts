import { promises as fs } from 'node:fs';
import { EventEmitter } from 'node:events';
import * as os from 'node:os';
import * as path from 'node:path';
import { allocate, allocCommand, allocOverrides, allocSummary } from '../../../server/cli/commands/alloc';
import { parseCommandArgs } from '../../../server/cli/args';
import { UsageError } from '../../../server/cli/context';
import { walltimeEnd } from '../../../server/cli/session-follow';
import { runCli } from './capture';
import { fakeCompanion, recordingProgress, session } from './fake-companion';

/* `hpclab alloc`: its flags, checked before anything starts, and its talk with the companion (a fake one). */

describe('hpclab alloc: flags', () => {
  it('turns --node, --time and --exclusive into the session overrides the companion takes', () => {
    expect(allocOverrides({})).toEqual({});
    expect(allocOverrides({ node: 'c1', time: '04:00:00', exclusive: true })).toEqual({
      nodelist: 'c1',
      time: '04:00:00',
      sbatch: { exclusive: '' }
    });
    expect(allocOverrides({ node: 'gpu[01-02]', time: '1-00:00:00' })).toEqual({
      nodelist: 'gpu[01-02]',
      time: '1-00:00:00'
    });
  });

  it.each([
    [{ time: 'soon' }, /^--time: expected .* got "soon"; e\.g\. --time 04:00:00/],
    [{ time: '1h' }, /^--time:/],
    [{ node: 'c1;reboot' }, /^--node: expected a Slurm node list.* got "c1;reboot"; e\.g\. --node c1/],
    [{ node: '-w' }, /^--node:/],
    [{ node: 'c1 c2' }, /^--node:/]
  ])('%j is a usage error naming the flag and the fix', (values, message) => {
    expect(() => allocOverrides(values)).toThrow(UsageError);
    expect(() => allocOverrides(values)).toThrow(message);
  });

  it('parses its flags', () => {
    expect(
      parseCommandArgs(allocCommand, ['--profile', 'cpu', '--node', 'c1', '--time', '10', '--exclusive', '--json'])
        .values
    ).toMatchObject({ profile: 'cpu', node: 'c1', time: '10', exclusive: true, json: true });
  });

  describe('through the CLI', () => {
    let dir: string;
    let config: string;
    beforeAll(async () => {
      dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hpclab-alloc-'));
      config = path.join(dir, 'config.json');
      await fs.writeFile(
        config,
        JSON.stringify({
          clusters: { here: { local: true }, there: { local: true } },
          profiles: { cpu: { cluster: 'here' }, gpu: { cluster: 'here' } }
        })
      );
    });
    afterAll(() => fs.rm(dir, { recursive: true, force: true }));

    it.each([
      [['--time', 'soon'], /^hpclab alloc: --time: expected/],
      [['--exclusive=yes'], /^hpclab alloc: --exclusive takes no value/],
      [['--profile'], /^hpclab alloc: --profile needs a value: --profile P/],
      [['--nodes', 'c1'], /^hpclab alloc: unknown option '--nodes'; did you mean --node\?/],
      [['stray'], /^hpclab alloc: unexpected argument 'stray'/]
    ])('%j exits 2, one line naming the flag, nothing on stdout', async (argv, message) => {
      const r = await runCli(['alloc', ...argv]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stdout).toBe('');
    });

    it('exits 2 for a profile or cluster the config does not have, naming those it has', async () => {
      const profile = await runCli(['alloc', '--config', config, '--profile', 'gpux']);
      expect(profile.code).toBe(2);
      expect(profile.stderr).toMatch(/^hpclab alloc: --profile: unknown profile "gpux" \(known profiles: cpu, gpu\)/);
      const cluster = await runCli(['alloc', '--config', config, '--profile', 'cpu', '--cluster', 'nowhere']);
      expect(cluster.code).toBe(2);
      expect(cluster.stderr).toMatch(
        /^hpclab alloc: --cluster: unknown cluster "nowhere" \(known clusters: here, there\)/
      );
    });

    it('exits 2 when no profile is named and several exist', async () => {
      const r = await runCli(['alloc', '--config', config]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^hpclab alloc: --profile: pick one of cpu, gpu/);
    });
  });
});

describe('hpclab alloc: with the companion', () => {
  const pending = session({
    state: 'pending',
    node: null,
    startedAt: null,
    pending: { reason: 'Priority', position: 2, estimatedStart: null }
  });
  const running = session({ endsAt: new Date(Date.now() + 3600_000).toISOString() });

  it('posts an alloc session, shows where the job waits, and prints the node and what to run next', async () => {
    const states = [pending, pending, running];
    const companion = fakeCompanion(call => (call.method === 'POST' ? { ...pending, jobId: null } : states.shift()));
    const progress = recordingProgress();
    let out = '';
    const code = await allocate(
      companion,
      { kind: 'alloc', profile: 'cpu', overrides: { nodelist: 'c1', time: '01:00:00', sbatch: { exclusive: '' } } },
      { progress, json: false, events: new EventEmitter(), out: t => (out += t), everyMs: 1 }
    );
    expect(code).toBe(0);
    expect(companion.calls[0]).toEqual({
      method: 'POST',
      path: '/hpclab/api/sessions',
      body: {
        kind: 'alloc',
        profile: 'cpu',
        overrides: { nodelist: 'c1', time: '01:00:00', sbatch: { exclusive: '' } }
      }
    });
    expect(companion.calls.slice(1).map(c => `${c.method} ${c.path}`)).toEqual(
      Array(3).fill('GET /hpclab/api/sessions/abc123def456')
    );
    expect(progress.lines).toContain('Job 123 pending (Priority, #2 in the queue)…');
    expect(out).toMatch(
      /^Allocated c1 \(job 123, session abc123def456\) until \d{4}-\d\d-\d\d \d\d:\d\d \((?:00:59:\d\d|01:00:00) left\)\.$/m
    );
    expect(out).toMatch(/^ {2}hpclab shell abc123def456 +a shell on c1$/m);
    expect(out).toMatch(/^ {2}hpclab release abc123def456 +free the node when done$/m);
  });

  it('prints the running session as one JSON line with --json', async () => {
    const companion = fakeCompanion(call => (call.method === 'POST' ? pending : running));
    let out = '';
    await allocate(
      companion,
      { kind: 'alloc', profile: 'cpu' },
      { progress: recordingProgress(), json: true, events: new EventEmitter(), out: t => (out += t), everyMs: 1 }
    );
    expect(out.trimEnd().split('\n')).toHaveLength(1);
    expect(JSON.parse(out)).toEqual(running);
  });

  it('fails with the reason when the job ends before it runs', async () => {
    const companion = fakeCompanion(call =>
      call.method === 'POST'
        ? pending
        : session({ state: 'failed', node: null, endReason: 'failed', message: 'Invalid partition name specified' })
    );
    await expect(
      allocate(
        companion,
        { kind: 'alloc', profile: 'cpu' },
        { progress: recordingProgress(), json: false, events: new EventEmitter(), everyMs: 1 }
      )
    ).rejects.toThrow('the allocation failed (failed): Invalid partition name specified');
  });

  it('cancels the waiting job on Ctrl-C, says so, and exits 130', async () => {
    const events = new EventEmitter();
    const companion = fakeCompanion((call, calls) => {
      if (call.method === 'POST') return pending;
      if (call.method === 'DELETE') return { ...pending, state: 'ending' };
      if (calls.length === 3) setImmediate(() => events.emit('SIGINT'));
      return pending;
    });
    let err = '';
    const code = await allocate(
      companion,
      { kind: 'alloc', profile: 'cpu' },
      { progress: recordingProgress(), json: false, events, err: t => (err += t), everyMs: 50 }
    );
    expect(code).toBe(130);
    expect(companion.calls.at(-1)).toEqual({ method: 'DELETE', path: '/hpclab/api/sessions/abc123def456' });
    expect(err).toBe('hpclab alloc: interrupted; cancelled session abc123def456 (job 123)\n');
    expect(events.listenerCount('SIGINT')).toBe(0);
  });
});

describe('what alloc prints', () => {
  it('repeats --config in the next commands, quoted for a shell', () => {
    const text = allocSummary(session(), '/home/me/my config.json');
    expect(text).toContain("hpclab shell abc123def456 --config '/home/me/my config.json'");
    expect(text).toContain("hpclab release abc123def456 --config '/home/me/my config.json'");
  });

  it('gives the walltime end in local time with the time left, or says there is none', () => {
    const now = Date.parse('2026-12-06T10:00:00Z');
    expect(walltimeEnd('2026-12-06T11:30:00Z', now)).toMatch(/^until 2026-12-0[56] \d\d:\d\d \(01:30:00 left\)$/);
    expect(walltimeEnd(null, now)).toBe('with no time limit');
  });
});
