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
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new Error(`${where}: not JSON (${(err as Error).message})`);
  }
  const parsed = connectionFileSchema.safeParse(data);
  if (!parsed.success)
    throw new Error(
      `${where}: ${parsed.error.issues.map(i => `${i.path.join('.') || 'file'}: ${i.message}`).join('; ')}`
    );
  return parsed.data;
}

/**
 * The connection file for the node: the same key and signature scheme, the node's address, and
 * port 0 everywhere so ipykernel binds free ports on the node and writes them back.
 */
export function remoteConnectionFile(
  local: Pick<ConnectionInfo, 'key' | 'signature_scheme'>,
  nodeAddress: string
): string {
  return JSON.stringify({
    shell_port: 0,
    iopub_port: 0,
    stdin_port: 0,
    control_port: 0,
    hb_port: 0,
    ip: nodeAddress,
    key: local.key,
    transport: 'tcp',
    signature_scheme: local.signature_scheme,
    kernel_name: ''
  });
}

/** True when ipykernel has written its real ports into the file. */
export function hasPorts(info: ConnectionInfo): boolean {
  return CHANNELS.every(c => info[c] > 0);
}
