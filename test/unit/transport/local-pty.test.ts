import { LocalTransport } from '../../../server/transport/local';
import { TransportError } from '../../../server/transport/errors';
import type { PtyProcess } from '../../../server/transport/types';

/*
 * LocalTransport.execPty (a `local` cluster). With the caller's terminal the command takes it
 * over; these tests run without one, so the command gets pipes: keys in, stdout and stderr out
 * as one stream, $TERM as asked, the exit code kept.
 */

const noTerminal = { term: 'vt220', rows: 24, cols: 80 };

function all(proc: PtyProcess): Promise<string> {
  return new Promise(resolve => {
    let text = '';
    proc.stdout!.on('data', (d: Buffer) => (text += d.toString()));
    proc.stdout!.on('end', () => resolve(text));
  });
}

describe('LocalTransport.execPty', () => {
  it('pipes keys in and output (stderr merged) out, with $TERM as asked, and keeps the exit code', async () => {
    const t = new LocalTransport('here');
    const proc = await t.execPty(
      ['sh', '-c', 'read line; echo "got $line on $TERM"; echo oops >&2; exit 4'],
      noTerminal
    );
    const output = all(proc);
    proc.stdin!.write('hello\n');
    expect(await proc.exited).toEqual({ code: 4, signal: null });
    const text = await output;
    expect(text).toContain('got hello on vt220\n');
    expect(text).toContain('oops\n');
    proc.resize(50, 100); // nothing to tell a pipe; must not throw
    await t.close();
  });

  it('hangs the command up on kill', async () => {
    const t = new LocalTransport('here');
    const proc = await t.execPty(['sleep', '30'], noTerminal);
    proc.kill();
    expect(await proc.exited).toEqual({ code: null, signal: 'SIGHUP' });
    await t.close();
  });

  it('hands its terminal over, with no streams, when asked to', async () => {
    const t = new LocalTransport('here');
    // `true` prints nothing, so jest's own output is left alone.
    const proc = await t.execPty(['true'], { ...noTerminal, inheritTerminal: true });
    expect(proc.stdin).toBeNull();
    expect(proc.stdout).toBeNull();
    expect(await proc.exited).toEqual({ code: 0, signal: null });
    await t.close();
  });

  it('says which program could not be started', async () => {
    const t = new LocalTransport('here');
    const err = await t.execPty(['hpclab-no-such-program'], noTerminal).catch((e: Error) => e);
    expect(err).toBeInstanceOf(TransportError);
    expect((err as Error).message).toMatch(/cannot run hpclab-no-such-program/);
    await t.close();
  });
});
