import type { Client, ClientChannel } from 'ssh2';
import { mergedOutput } from '../pty-output';
import type { PtyOptions, PtyProcess } from '../types';

/*
 * An interactive command over SSH (`hpclab shell`): sshd gives the command a terminal of its
 * own (a pty-req before the exec), so the login node's `srun --pty` finds a TTY, sets it raw and
 * forwards its size changes to the job's node, as it would for a user typing in ssh.
 */

/** Opens a session channel with a terminal and runs `command` (already rendered by quote.ts) on it. */
export function openPtyChannel(client: Client, command: string, pty: PtyOptions): Promise<ClientChannel> {
  return new Promise((resolve, reject) =>
    client.exec(
      command,
      // Pixel sizes are optional in SSH: 0 says "not known", which every sshd accepts.
      { pty: { term: pty.term, rows: pty.rows, cols: pty.cols, width: 0, height: 0 } },
      (err, channel) => (err ? reject(err) : resolve(channel))
    )
  );
}

/** The channel as a PtyProcess: output and keystrokes, size changes, exit status, hangup. */
export function ptyProcessOf(channel: ClientChannel): PtyProcess {
  let status: { code: number | null; signal: string | null } | undefined;
  let settle!: (end: { code: number | null; signal: string | null }) => void;
  const exited = new Promise<{ code: number | null; signal: string | null }>(resolve => (settle = resolve));
  channel.on('exit', (code: number | null, signal?: string) => (status = { code, signal: signal ?? null }));
  // No exit status: the connection went, which ends the command as a hangup would.
  channel.once('close', () => settle(status ?? { code: null, signal: 'HUP' }));
  return {
    stdin: channel,
    stdout: mergedOutput(channel, channel.stderr),
    resize: (rows, cols) => channel.setWindow(rows, cols, 0, 0),
    exited,
    kill: () => {
      // Closing the channel closes the terminal: the command gets SIGHUP, and srun ends its step
      // on it as it does when a user's ssh window closes.
      channel.close();
      // An sshd that never confirms the close must not keep the caller waiting.
      setTimeout(() => settle({ code: null, signal: 'HUP' }), 2_000).unref();
    }
  };
}
