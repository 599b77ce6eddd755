import type { ChildProcessWithoutNullStreams } from 'node:child_process';

/** What kernel_driver.py has said so far: its JSON steps by name, its stderr, and its exit. */
export interface DriverRun {
  steps: Record<string, Record<string, unknown>>;
  done: Promise<number | null>;
  stderr: () => string;
}

/**
 * Follows a running kernel_driver.py: each line of its stdout that is a JSON object is a step
 * (`{"step": "ready", …}`), kept by name; lines are joined across chunks, so a step cut by a
 * pipe boundary is still read whole.
 */
export function followDriver(child: ChildProcessWithoutNullStreams): DriverRun {
  const steps: Record<string, Record<string, unknown>> = {};
  let stderr = '';
  let partial = '';
  child.stdout.on('data', (d: Buffer) => {
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines.filter(l => l.startsWith('{'))) {
      const step = JSON.parse(line);
      steps[step.step] = step;
    }
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<number | null>(resolve => child.on('exit', resolve));
  return { steps, done, stderr: () => stderr };
}
