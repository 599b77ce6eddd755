import type { IncomingMessage } from 'node:http';
import { pipeline, type Duplex } from 'node:stream';
import type { ChannelPort } from '../kernels/connection-file';
import type { KernelAttachService } from './services';

/** The upgrade protocol of kernel channels: raw ZMTP bytes both ways after the 101. */
export const CHANNEL_PROTOCOL = 'hpclab-stream';
const CHANNEL_PATH = /^\/hpclab\/kernels\/([a-z0-9]{6,32})\/channels\/(shell|iopub|stdin|control|hb)$/;

export function isKernelChannelPath(url: string | undefined): boolean {
  return CHANNEL_PATH.test((url ?? '').split('?')[0]);
}

/**
 * GET /hpclab/kernels/<id>/channels/<name> with `Upgrade: hpclab-stream` (after the caller's
 * Host, Origin and token checks): a byte stream to that channel of the live kernel <id>. The
 * port comes from the kernel the companion started, never from the request.
 */
export async function handleKernelChannel(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  kernels: KernelAttachService
): Promise<void> {
  const refuse = (status: number, words: string): void =>
    void socket.end(`HTTP/1.1 ${status} ${words}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  const match = CHANNEL_PATH.exec((req.url ?? '').split('?')[0]);
  if (!match) return refuse(404, 'Not Found');
  if ((req.headers.upgrade ?? '').toLowerCase() !== CHANNEL_PROTOCOL) return refuse(400, 'Bad Request');
  // KernelService.openChannel logs why a channel could not be opened; the launcher sees a 503 and retries.
  const opened = await kernels.openChannel(match[1], `${match[2]}_port` as ChannelPort).catch(() => null);
  if (opened === undefined) return refuse(404, 'Not Found');
  if (opened === null) return refuse(503, 'Service Unavailable');
  const { upstream, fromClient, fromKernel } = opened;
  (socket as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${CHANNEL_PROTOCOL}\r\nConnection: Upgrade\r\n\r\n`);
  if (head.length > 0) {
    fromClient?.(head);
    upstream.write(head);
  }
  if (fromClient) socket.on('data', fromClient);
  // In the same turn as the pipelines: a listener added earlier would start the flow before them.
  if (fromKernel) upstream.on('data', fromKernel);
  pipeline(socket, upstream, () => socket.destroy());
  pipeline(upstream, socket, () => upstream.destroy());
}
