import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { exitCodeOf, ptyOptionsFor, runPtySession, type LocalTerminal } from '../../../server/cli/pty-session';
import type { PtyProcess } from '../../../server/transport/types';

/*
 * The local end of `hpclab shell` with a fake remote command and a fake terminal: keys through
 * untouched, raw mode undone whatever happens, resizes passed on, the exit code kept.
 */

type End = { code: number | null; signal: string | null };

function fakePty(opts: { attached?: boolean } = {}) {
  let finish!: (end: End) => void;
  let fail!: (err: Error) => void;
  const exited = new Promise<End>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  let typed = '';
  stdin.on('data', (d: Buffer) => (typed += d.toString('latin1')));
  const resizes: [number, number][] = [];
  let kills = 0;
  const proc: PtyProcess = {
    stdin: opts.attached ? null : stdin,
    stdout: opts.attached ? null : stdout,
    resize: (rows, cols) => resizes.push([rows, cols]),
    exited,
    kill: () => kills++
  };
  return {
    proc,
    stdin,
    stdout,
    typed: () => typed,
    resizes,
    kills: () => kills,
    /** The command prints its last words and ends. */
    end(end: End, last = '') {
      if (last) stdout.write(last);
      stdout.end();
      finish(end);
    },
    fail
  };
}

function fakeTerminal(tty: boolean) {
  const stdin = Object.assign(new PassThrough(), {
    isTTY: tty,
    isRaw: false,
    modes: [] as boolean[],
    setRawMode(raw: boolean) {
      this.isRaw = raw;
      this.modes.push(raw);
      return this;
    }
  });
  let shown = '';
  const stdout = Object.assign(new PassThrough(), { isTTY: tty, rows: 50, columns: 132 });
  stdout.on('data', (d: Buffer) => (shown += d.toString()));
  return { terminal: { stdin, stdout } as LocalTerminal, stdin, stdout, shown: () => shown };
}

const tick = () => new Promise(resolve => setImmediate(resolve));

describe('runPtySession', () => {
  it('puts a terminal in raw mode, passes keys (Ctrl-C as \\x03) and output through, and restores it at the end', async () => {
    const remote = fakePty();
    const local = fakeTerminal(true);
    const events = new EventEmitter();
    const done = runPtySession(remote.proc, local.terminal, events);
    await tick();
    expect(local.stdin.isRaw).toBe(true);
    local.stdin.write('sleep 30\r');
    local.stdin.write('\x03');
    remote.stdout.write('^C\r\n$ ');
    await tick();
    expect(remote.typed()).toBe('sleep 30\r\x03');
    expect(local.shown()).toBe('^C\r\n$ ');
    remote.end({ code: 7, signal: null }, 'logout\r\n');
    expect(await done).toEqual({ code: 7, signal: null });
    expect(local.shown()).toBe('^C\r\n$ logout\r\n');
    expect(local.stdin.modes).toEqual([true, false]);
    expect(local.stdin.isPaused()).toBe(true);
    for (const e of ['SIGINT', 'SIGTERM', 'SIGHUP', 'exit']) expect(events.listenerCount(e)).toBe(0);
  });

  it('restores the terminal when the session fails too', async () => {
    const remote = fakePty();
    const local = fakeTerminal(true);
    const done = runPtySession(remote.proc, local.terminal, new EventEmitter());
    await tick();
    remote.fail(new Error('connection lost'));
    await expect(done).rejects.toThrow('connection lost');
    expect(local.stdin.modes).toEqual([true, false]);
  });

  it('restores it on process exit, should something end hpclab without unwinding', async () => {
    const remote = fakePty();
    const local = fakeTerminal(true);
    const events = new EventEmitter();
    void runPtySession(remote.proc, local.terminal, events);
    await tick();
    events.emit('exit');
    expect(local.stdin.isRaw).toBe(false);
    remote.end({ code: 0, signal: null });
  });

  it('passes window size changes on to the remote terminal', async () => {
    const remote = fakePty();
    const local = fakeTerminal(true);
    const done = runPtySession(remote.proc, local.terminal, new EventEmitter());
    await tick();
    Object.assign(local.stdout, { rows: 40, columns: 100 });
    local.stdout.emit('resize');
    expect(remote.resizes).toEqual([[40, 100]]);
    remote.end({ code: 0, signal: null });
    await done;
    local.stdout.emit('resize');
    expect(remote.resizes).toHaveLength(1);
  });

  it('with piped input: no raw mode, a SIGINT goes to the remote command as Ctrl-C, and the end of input as Ctrl-D', async () => {
    const remote = fakePty();
    const local = fakeTerminal(false);
    const events = new EventEmitter();
    const done = runPtySession(remote.proc, local.terminal, events);
    local.stdin.write('hostname; tty\n');
    await tick();
    events.emit('SIGINT');
    local.stdin.end();
    await tick();
    expect(remote.typed()).toBe('hostname; tty\n\x03\x04');
    expect(remote.stdin.writableEnded).toBe(true);
    expect(local.stdin.modes).toEqual([]);
    remote.end({ code: 0, signal: null });
    await done;
  });

  it('hangs the remote terminal up when hpclab is told to stop', async () => {
    const remote = fakePty();
    const events = new EventEmitter();
    const done = runPtySession(remote.proc, fakeTerminal(true).terminal, events);
    events.emit('SIGTERM');
    events.emit('SIGHUP');
    expect(remote.kills()).toBe(2);
    remote.end({ code: null, signal: 'HUP' });
    expect(await done).toEqual({ code: null, signal: 'HUP' });
  });

  it('leaves the terminal alone when the command took it over, and outlives a Ctrl-C', async () => {
    const remote = fakePty({ attached: true });
    const local = fakeTerminal(true);
    const events = new EventEmitter();
    const done = runPtySession(remote.proc, local.terminal, events);
    await tick();
    expect(events.listenerCount('SIGINT')).toBe(1);
    events.emit('SIGINT');
    expect(remote.kills()).toBe(0);
    remote.end({ code: 3, signal: null });
    expect(await done).toEqual({ code: 3, signal: null });
    expect(local.stdin.modes).toEqual([]);
    expect(events.listenerCount('SIGINT')).toBe(0);
  });

  it('ignores keys typed after the command ended (its channel refuses them)', async () => {
    const remote = fakePty();
    const local = fakeTerminal(false);
    const done = runPtySession(remote.proc, local.terminal, new EventEmitter());
    remote.stdin.destroy();
    local.stdin.write('late');
    await tick();
    remote.end({ code: 0, signal: null });
    expect(await done).toEqual({ code: 0, signal: null });
  });
});

describe('exitCodeOf', () => {
  it.each([
    [{ code: 0, signal: null }, 0],
    [{ code: 42, signal: null }, 42],
    [{ code: null, signal: 'HUP' }, 129],
    [{ code: null, signal: 'SIGHUP' }, 129],
    [{ code: null, signal: 'KILL' }, 137],
    [{ code: null, signal: 'NOPE' }, 1],
    [{ code: null, signal: null }, 1]
  ])('%j → %d', (end, code) => expect(exitCodeOf(end)).toBe(code));
});

describe('ptyOptionsFor', () => {
  it("asks for this terminal's type and size", () => {
    const { terminal } = fakeTerminal(true);
    expect(ptyOptionsFor(terminal, { TERM: 'screen' })).toEqual({
      term: 'screen',
      rows: 50,
      cols: 132,
      inheritTerminal: true
    });
  });

  it('asks for 24x80 xterm-256color when output is a pipe and TERM unset', () => {
    const { terminal } = fakeTerminal(false);
    expect(ptyOptionsFor(terminal, {})).toEqual({ term: 'xterm-256color', rows: 24, cols: 80, inheritTerminal: false });
  });
});
