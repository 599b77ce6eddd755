import type { Kernel, KernelMessage } from '@jupyterlab/services';
import * as z from 'zod/mini';
import { checkpoint, MARKERS, probe, restore } from './code';

/** How long each snippet may take, queue time in the kernel included. */
export const TIMEOUTS = { checkpoint: 10 * 60_000, restore: 10 * 60_000, probe: 20_000 } as const;

/** The part of a kernel connection the snippets need. */
export type SnippetKernel = Pick<Kernel.IKernelConnection, 'requestExecute'>;

/** What `checkpoint()` printed: what was saved, and each name that was not with its reason. */
export const checkpointReportSchema = z.object({
  path: z.string(),
  saved: z.array(z.string()),
  skipped: z.record(z.string(), z.string()),
  bytes: z.number(),
  seconds: z.number(),
  pickler: z.enum(['dill', 'pickle']),
  count: z.optional(z.nullable(z.number())),
  /** False when there was nothing to save: the previous file, if any, was left as it was. */
  written: z.optional(z.boolean())
});
export type CheckpointReport = z.infer<typeof checkpointReportSchema>;

/** What `restore()` printed; `missing` when there was no checkpoint to restore. */
export const restoreReportSchema = z.object({
  restored: z.optional(z.array(z.string())),
  failed: z.optional(z.record(z.string(), z.string())),
  missing: z.optional(z.boolean())
});
export type RestoreReport = z.infer<typeof restoreReportSchema>;

/** What `probe()` printed: the allocation's job id (null outside Slurm) and the execution count. */
export const probeReportSchema = z.object({
  job: z.nullable(z.string()),
  count: z.optional(z.nullable(z.number()))
});
export type ProbeReport = z.infer<typeof probeReportSchema>;

/** The snippet raised in the kernel: Python's exception name and value. */
export class SnippetError extends Error {
  constructor(
    readonly ename: string,
    readonly evalue: string
  ) {
    super(`${ename}: ${evalue}`);
    this.name = 'SnippetError';
  }
}

/**
 * Runs `code` on the kernel and returns the JSON that follows `marker` at the start of a line
 * of its stdout. Stream messages may cut a line anywhere, so stdout is joined first. Rejects with
 * Python's ename/evalue when the code raised, when no marker line came, or after `timeoutMs`.
 * `stop_on_error` is off: an error here must not abort cells the user queued behind it.
 */
export async function runMarked(
  kernel: SnippetKernel,
  code: string,
  marker: string,
  timeoutMs: number
): Promise<unknown> {
  const future = kernel.requestExecute({
    code,
    silent: false,
    store_history: false,
    allow_stdin: false,
    stop_on_error: false
  });
  let stdout = '';
  let stderr = '';
  let error: SnippetError | undefined;
  future.onIOPub = (msg: KernelMessage.IIOPubMessage) => {
    if (msg.header.msg_type === 'stream') {
      const { name, text } = (msg as KernelMessage.IStreamMsg).content;
      if (name === 'stdout') stdout += text;
      else stderr += text;
    } else if (msg.header.msg_type === 'error') {
      const { ename, evalue } = (msg as KernelMessage.IErrorMsg).content;
      error = new SnippetError(ename, evalue);
    }
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new Error(`the kernel did not answer in ${Math.round(timeoutMs / 1000)} s (busy?)`)),
      timeoutMs
    );
  });
  let reply: KernelMessage.IExecuteReplyMsg;
  try {
    reply = await Promise.race([future.done, timeout]);
  } catch (err) {
    // Stop listening; the kernel may still run the code later, which only rewrites a checkpoint.
    future.dispose();
    throw err;
  } finally {
    clearTimeout(timer);
  }
  const content = reply.content as { status: string; ename?: string; evalue?: string };
  if (!error && content.status === 'error') error = new SnippetError(content.ename ?? 'Error', content.evalue ?? '');
  if (error) throw error;
  const line = stdout.split('\n').find(l => l.startsWith(`${marker} `));
  if (line === undefined) {
    const said = stderr.trim().split('\n').at(-1);
    throw new Error(`the kernel printed no ${marker} line${said ? ` (it said: ${said})` : ''}`);
  }
  return JSON.parse(line.slice(marker.length + 1));
}

/** Reads a marker's JSON with its schema: a reply of another shape is an error that says so. */
function parsed<T>(schema: z.ZodMiniType<T>, data: unknown, what: string): T {
  const result = schema.safeParse(data);
  if (!result.success) throw new Error(`unexpected ${what} report: ${result.error.issues[0]?.message ?? 'invalid'}`);
  return result.data;
}

/** The job the kernel's allocation is, as the kernel itself sees it. */
export async function probeKernel(kernel: SnippetKernel): Promise<ProbeReport> {
  return parsed(probeReportSchema, await runMarked(kernel, probe(), MARKERS.probe, TIMEOUTS.probe), 'probe');
}

/** Saves the kernel's variables to `path` on the cluster. */
export async function saveVariables(kernel: SnippetKernel, path: string): Promise<CheckpointReport> {
  const data = await runMarked(kernel, checkpoint(path), MARKERS.checkpoint, TIMEOUTS.checkpoint);
  return parsed(checkpointReportSchema, data, 'checkpoint');
}

/** Puts the variables saved at `path` back into the kernel. */
export async function restoreVariables(kernel: SnippetKernel, path: string): Promise<RestoreReport> {
  const data = await runMarked(kernel, restore(path), MARKERS.restore, TIMEOUTS.restore);
  return parsed(restoreReportSchema, data, 'restore');
}
