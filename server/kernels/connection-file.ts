import { z } from 'zod';

/** The five ZMQ channels of a Jupyter kernel, by their connection-file port keys. */
export const CHANNELS = ['shell_port', 'iopub_port', 'stdin_port', 'control_port', 'hb_port'] as const;
export type ChannelPort = (typeof CHANNELS)[number];

const port = z.number().int().min(0).max(65535);

/** A Jupyter connection file, as jupyter_client writes it (extra keys are kept, not trusted). */
export const connectionFileSchema = z
  .object({
    shell_port: port,
    iopub_port: port,
    stdin_port: port,
    control_port: port,
    hb_port: port,
    ip: z.string().min(1),
    key: z.string(),
    transport: z.literal('tcp', { error: 'transport: hpclab tunnels tcp kernels only (ipc cannot cross hosts)' }),
    signature_scheme: z.string().regex(/^hmac-[a-z0-9]+$/, { error: 'signature_scheme: expected hmac-<hash>' })
  })
  .loose();
export type ConnectionInfo = z.output<typeof connectionFileSchema>;

export function parseConnectionFile(text: string, where: string): ConnectionInfo {
  return parseWith(connectionFileSchema, text, where);
}

/** JSON `text` checked by `schema`; errors name the file and each bad field. */
function parseWith<T extends z.ZodType>(schema: T, text: string, where: string): z.output<T> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new Error(`${where}: not JSON (${(err as Error).message})`);
  }
  const parsed = schema.safeParse(data);
  if (!parsed.success)
    throw new Error(
      `${where}: ${parsed.error.issues.map(i => `${i.path.join('.') || 'file'}: ${i.message}`).join('; ')}`
    );
  return parsed.data;
}

/** Where a kernel on a node binds: ipc sockets named `<prefix>-<n>` in the job's private directory, or TCP ports on the node's address. */
export type KernelBind = { ipcPrefix: string } | { host: string };

/**
 * The connection file for the node: the same key and signature scheme, and port 0 everywhere so
 * ipykernel binds free ports (TCP) or the first free names `<prefix>-1…` (ipc) and writes them back.
 */
export function remoteConnectionFile(
  local: Pick<ConnectionInfo, 'key' | 'signature_scheme'>,
  bind: KernelBind
): string {
  return JSON.stringify({
    shell_port: 0,
    iopub_port: 0,
    stdin_port: 0,
    control_port: 0,
    hb_port: 0,
    ip: 'ipcPrefix' in bind ? bind.ipcPrefix : bind.host,
    key: local.key,
    transport: 'ipcPrefix' in bind ? 'ipc' : 'tcp',
    signature_scheme: local.signature_scheme,
    kernel_name: ''
  });
}

const remoteSchema = connectionFileSchema.extend({ transport: z.enum(['tcp', 'ipc']) });

/**
 * The connection file the kernel wrote back on the node, checked against what was asked: the
 * same transport and address (a file changed by anything else must not steer the channels), and
 * for ipc, socket numbers ipykernel could have picked.
 */
export function parseRemoteConnectionFile(text: string, where: string, bind: KernelBind): ConnectionInfo {
  const info = parseWith(remoteSchema, text, where);
  const ipc = 'ipcPrefix' in bind;
  if (info.transport !== (ipc ? 'ipc' : 'tcp') || info.ip !== (ipc ? bind.ipcPrefix : bind.host))
    throw new Error(`${where}: the kernel bound ${info.transport}:${info.ip}, not what hpclab asked for`);
  if (ipc && CHANNELS.some(c => info[c] > 99)) throw new Error(`${where}: ipc socket numbers above 99`);
  return info as ConnectionInfo;
}

/** The name of an ipc kernel's channel socket inside the job's socket directory. */
export function ipcSocketName(info: ConnectionInfo, channel: ChannelPort): string {
  return `${info.ip.slice(info.ip.lastIndexOf('/') + 1)}-${info[channel]}`;
}

/** True when ipykernel has written its real ports into the file. */
export function hasPorts(info: ConnectionInfo): boolean {
  return CHANNELS.every(c => info[c] > 0);
}
