import { release } from '../../../server/cli/commands/release';
import { UsageError } from '../../../server/cli/context';
import type { SessionInfo } from '../../../server/sessions/types';
import { runCli } from './capture';
import { fakeCompanion, recordingProgress, session } from './fake-companion';

/* `hpclab release`: which session, the DELETE, the wait for Slurm, and what it says (a fake companion). */

/** A companion whose session ends `after` GETs past the DELETE. */
function ending(target: SessionInfo, after = 2) {
  let left = after;
  let deleted = false;
  return fakeCompanion(call => {
    if (call.path === '/hpclab/api/sessions') return [target];
    if (call.method === 'DELETE') {
      deleted = true;
      return { ...target, state: 'ending' };
    }
    if (!deleted) return target;
    return left-- > 0 ? { ...target, state: 'ending' } : { ...target, state: 'ended', endReason: 'cancelled' };
  });
}

describe('hpclab release', () => {
  it('releases the only alloc session, waits until Slurm ended it, and says which node went', async () => {
    const companion = ending(session());
    const progress = recordingProgress();
    let out = '';
    expect(await release(companion, undefined, { progress, json: false, out: t => (out += t), everyMs: 1 })).toBe(0);
    expect(companion.calls.map(c => `${c.method} ${c.path}`)).toEqual([
      'GET /hpclab/api/sessions',
      'DELETE /hpclab/api/sessions/abc123def456',
      'GET /hpclab/api/sessions/abc123def456',
      'GET /hpclab/api/sessions/abc123def456',
      'GET /hpclab/api/sessions/abc123def456'
    ]);
    expect(progress.lines).toContain('Releasing node c1 (job 123): waiting for Slurm to end it (ending)…');
    expect(out).toBe('Released node c1 (job 123)\n');
  });

  it('takes a pending allocation out of the queue', async () => {
    let out = '';
    const waiting = session({ state: 'pending', node: null });
    await release(ending(waiting, 0), 'abc123def456', {
      progress: recordingProgress(),
      json: false,
      out: t => (out += t),
      everyMs: 1
    });
    expect(out).toBe('Cancelled job 123 before it got a node\n');
  });

  it('prints the ended session as one JSON line with --json', async () => {
    let out = '';
    await release(ending(session(), 0), undefined, {
      progress: recordingProgress(),
      json: true,
      out: t => (out += t),
      everyMs: 1
    });
    expect(out.trimEnd().split('\n')).toHaveLength(1);
    expect(JSON.parse(out)).toMatchObject({ id: 'abc123def456', state: 'ended', endReason: 'cancelled' });
  });

  it('does nothing to a session already over, and says so', async () => {
    const over = session({ state: 'ended', endReason: 'timeout' });
    const companion = fakeCompanion(() => over);
    let out = '';
    expect(
      await release(companion, 'abc123def456', { progress: recordingProgress(), json: false, out: t => (out += t) })
    ).toBe(0);
    expect(companion.calls.map(c => c.method)).toEqual(['GET']);
    expect(out).toBe('Session abc123def456 already ended (timeout).\n');
  });

  it('lists the alloc sessions and asks for one when there are several (Lab sessions are not released by default)', async () => {
    const a = session();
    const b = session({ id: 'second000001', state: 'pending', node: null, jobId: '124' });
    const lab = session({ id: 'lab000000001', kind: 'lab' });
    const companion = fakeCompanion(() => [a, b, lab]);
    const run = release(companion, undefined, { progress: recordingProgress(), json: false });
    await expect(run).rejects.toThrow(UsageError);
    const message = ((await run.catch((e: Error) => e)) as Error).message;
    expect(message).toMatch(/^SESSION: you have 2 alloc sessions; name one, e\.g\. hpclab release abc123def456/);
    expect(message).toContain('second000001');
    expect(message).not.toContain('lab000000001');
    expect(companion.calls.map(c => c.method)).toEqual(['GET']);
  });

  it('says so when there is none', async () => {
    await expect(
      release(
        fakeCompanion(() => [session({ kind: 'lab' })]),
        undefined,
        { progress: recordingProgress(), json: false }
      )
    ).rejects.toThrow(/^SESSION: you have no alloc session/);
  });

  it('stops waiting after its time, saying where to look', async () => {
    const stuck = fakeCompanion(call =>
      call.path === '/hpclab/api/sessions' ? [session()] : session({ state: 'ending' })
    );
    await expect(
      release(stuck, undefined, { progress: recordingProgress(), json: false, everyMs: 1, timeoutMs: 20 })
    ).rejects.toThrow(
      /^asked Slurm to end node c1 \(job 123\), but the session is still ending after 0 s; 'hpclab sessions' shows when it ends$/
    );
  });

  it.each([
    [['a b'], /^hpclab release: SESSION: expected a session id/],
    [['abc123def456', 'second000001'], /^hpclab release: unexpected "second000001": release one session at a time/],
    [['--force'], /^hpclab release: unknown option '--force'/]
  ])('%j exits 2 before anything connects', async (argv, message) => {
    const r = await runCli(['release', ...argv]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});
