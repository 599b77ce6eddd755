import * as http from 'node:http';
import type { Duplex } from 'node:stream';
import type { KernelAttachRequest, KernelLeaseEvent } from '../kernels/kernel-lease';
import type { ChannelPort, ConnectionInfo } from '../kernels/connection-file';
import { KernelTunnels } from '../kernels/tunnels';
import type { LocalCompanion } from './local-companion';

const CHANNEL_NAMES: Record<ChannelPort, string> = {
  shell_port: 'shell',
  iopub_port: 'iopub',
  stdin_port: 'stdin',
  control_port: 'control',
  hb_port: 'hb'
};

/**
 * The launcher's side of a remote kernel: holds the companion's kernel lease (an open request)
 * for as long as Jupyter wants the kernel, prints what the companion says (queue position,
 * walltime warnings, why the kernel ended), and once the kernel is ready carries Jupyter's
 * five local ports to it through the companion. Resolves with the exit code for Jupyter:
 * 0 when the kernel exited by itself (shutdown, restart), 1 when it died or never started.
 *
 * A companion that goes away (killed, crashed) is not the kernel's end: the kernel runs on in
 * its allocation, so the launcher gets a companion back through `reconnect` and asks again; the
 * new one re-attaches to the same kernel. Jupyter's ZMQ sockets reconnect to the local ports,
 * which stay open throughout, so the notebook only sees a pause.
 */
export function runKernelClient(o: {
  companion: LocalCompanion;
  request: KernelAttachRequest;
  local: ConnectionInfo;
  log: (message: string) => void;
  /** A running companion again (starting one if need be); without it a lost companion ends the kernel. */
  reconnect?: () => Promise<LocalCompanion>;
  /** How long to keep trying to get a companion back (default 60 s). */
  reconnectForMs?: number;
}): { done: Promise<number>; stop(): void } {
  let companion = o.companion;
  let tunnels: KernelTunnels | undefined;
  let ended = false;
  let stopping = false;
  let req: http.ClientRequest | undefined;
  let resolveDone: (code: number) => void = () => undefined;
  const done = new Promise<number>(resolve => (resolveDone = resolve));
  const headers = () => ({ Host: 'localhost', Authorization: `token ${companion.token}` });

  const finish = (code: number, message?: string) => {
    if (ended) return;
    ended = true;
    if (message) o.log(message);
    tunnels?.close();
    req?.destroy();
    resolveDone(code);
  };

  const lost = async (why: string) => {
    if (stopping) return finish(0);
    if (!o.reconnect) return finish(1, `hpclab: lost the companion (${why}); the kernel is lost with it`);
    o.log(`hpclab: lost the companion (${why}); getting it back, the kernel keeps running on the node`);
    const deadline = Date.now() + (o.reconnectForMs ?? 60_000);
    while (!stopping && Date.now() < deadline) {
      try {
        companion = await o.reconnect();
        return lease();
      } catch (err) {
        o.log(`hpclab: no companion yet: ${(err as Error).message}`);
        await new Promise(r => setTimeout(r, 1000));
      }
    }
    finish(stopping ? 0 : 1, stopping ? undefined : 'hpclab: the companion could not be restarted; the kernel is lost');
  };

  const onEvent = (event: KernelLeaseEvent) => {
    if (event.type === 'progress' || event.type === 'warning') o.log(`hpclab: ${event.message}`);
    else if (event.type === 'ended') finish(event.code, event.code === 0 ? undefined : `hpclab: ${event.message}`);
    else if (event.type === 'ready' && tunnels)
      o.log(`hpclab: kernel back on ${event.node || event.host} in job ${event.jobId}`);
    else if (event.type === 'ready') {
      tunnels = new KernelTunnels(o.local, channel => openChannel(companion, headers(), o.request.kernelId, channel));
      tunnels.start().then(
        () => o.log(`hpclab: kernel running on ${event.node || event.host} in job ${event.jobId}`),
        err => finish(1, `hpclab: cannot listen on the kernel's local ports: ${(err as Error).message}`)
      );
    }
  };

  /** One lease request; losing it (without an `ended` from the companion) goes to `lost`. */
  const lease = () => {
    if (ended) return;
    let gone = false;
    const once = (why: string) => {
      if (gone || ended) return;
      gone = true;
      void lost(why);
    };
    const r = (req = http.request({
      socketPath: companion.socket,
      method: 'POST',
      path: '/hpclab/api/kernels',
      headers: { ...headers(), 'Content-Type': 'application/json' }
    }));
    r.on('error', err => once(err.message));
    r.on('response', res => {
      if (res.statusCode !== 200) {
        let body = '';
        res.on('data', d => (body += d));
        res.on('end', () => finish(1, `hpclab: ${errorMessage(body, res.statusCode)}`));
        return;
      }
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          if (line.trim()) onEvent(JSON.parse(line) as KernelLeaseEvent);
        }
      });
      res.on('close', () => once('its connection closed'));
    });
    r.end(JSON.stringify(o.request));
  };

  lease();
  return {
    done,
    // Closing the lease is how the companion learns the launcher is gone (it releases the allocation).
    stop: () => {
      stopping = true;
      req?.destroy();
      if (!req) finish(0);
    }
  };
}

function openChannel(
  companion: LocalCompanion,
  headers: Record<string, string>,
  kernelId: string,
  channel: ChannelPort
): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      socketPath: companion.socket,
      path: `/hpclab/kernels/${kernelId}/channels/${CHANNEL_NAMES[channel]}`,
      headers: { ...headers, Connection: 'Upgrade', Upgrade: 'hpclab-stream' }
    });
    req.on('upgrade', (_res, socket, head) => {
      socket.setNoDelay(true);
      if (head.length > 0) socket.unshift(head);
      resolve(socket);
    });
    req.on('response', res => {
      res.resume();
      reject(new Error(`the companion refused the ${CHANNEL_NAMES[channel]} channel (${res.statusCode})`));
    });
    req.on('error', reject);
    req.end();
  });
}

function errorMessage(body: string, status: number | undefined): string {
  try {
    return (JSON.parse(body) as { error: { message: string } }).error.message;
  } catch {
    // Not the API's JSON error (a proxy's HTML page, a cut body): the status is all there is.
    return `the companion answered ${status}`;
  }
}
