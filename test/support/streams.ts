import type { ChildProcess } from 'node:child_process';
import type { Duplex, Readable } from 'node:stream';

/** Everything a stream gives until its end; rejects with its error. */
export function readAll(stream: Duplex): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', c => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

/**
 * The child's exit code, once its output has been read too: 'exit' can come before the last
 * chunk of stdout, and 'close' waits for every holder of the pipe, which a kernel's background
 * companion may be. So: exit, then the pipes' end or a short grace, whichever comes first.
 */
export function exitedWithOutput(child: ChildProcess, graceMs = 2000): Promise<number | null> {
  const ended = (s: Readable | null) =>
    s && !s.readableEnded ? new Promise<void>(resolve => s.once('end', () => resolve())) : Promise.resolve();
  const drained = Promise.all([ended(child.stdout), ended(child.stderr)]);
  return new Promise(resolve =>
    child.once('exit', code => {
      const grace = setTimeout(() => resolve(code), graceMs);
      void drained.then(() => {
        clearTimeout(grace);
        resolve(code);
      });
    })
  );
}
