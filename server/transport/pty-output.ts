import { finished, PassThrough, type Readable } from 'node:stream';

/**
 * A terminal has one output, so a command on one shows stdout and stderr as one stream. sshd
 * already sends a PTY's output on the channel's data stream, but a command given pipes (a local
 * one without a terminal) writes stderr apart, and a stderr nobody drains would stall it.
 */
export function mergedOutput(stdout: Readable, stderr: Readable): Readable {
  const out = new PassThrough();
  let open = 2;
  const done = () => {
    if (--open === 0) out.end();
  };
  for (const source of [stdout, stderr]) {
    source.pipe(out, { end: false });
    // A source cut short (the connection lost) only ends the output early: how the command
    // ended, or that the link went, is what the process's `exited` reports.
    finished(source, { writable: false }, () => done());
  }
  return out;
}
