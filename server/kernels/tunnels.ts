import * as net from 'node:net';
import { pipeline } from 'node:stream';
import type { Duplex } from 'node:stream';
import { CHANNELS, type ChannelPort, type ConnectionInfo } from './connection-file';

/**
 * Listens on the local ports Jupyter chose (127.0.0.1 only) and carries each connection to the
 * kernel's port on the node through the cluster transport. Bytes pass untouched; only the
 * control channel is watched for a shutdown request, to tell a shutdown from a restart.
 */
export class KernelTunnels {
  private readonly servers: net.Server[] = [];
  private readonly sockets = new Set<Duplex>();
  private controlTail = '';

  constructor(
    private readonly local: ConnectionInfo,
    private readonly remote: ConnectionInfo,
    private readonly open: (port: number) => Promise<Duplex>
  ) {}

  async start(): Promise<void> {
    for (const channel of CHANNELS) this.servers.push(await this.listen(channel));
  }

  /** The last shutdown request seen on the control channel said restart: false. */
  shutdownRequested(): boolean {
    const i = this.controlTail.lastIndexOf('shutdown_request');
    return i >= 0 && /"restart":\s*false/.test(this.controlTail.slice(i));
  }

  close(): void {
    for (const s of this.servers) s.close();
    for (const s of this.sockets) s.destroy();
  }

  private listen(channel: ChannelPort): Promise<net.Server> {
    const server = net.createServer(client => {
      client.setNoDelay(true);
      this.sockets.add(client);
      client.on('close', () => this.sockets.delete(client));
      if (channel === 'control_port') {
        client.on('data', (d: Buffer) => {
          this.controlTail = (this.controlTail + d.toString('latin1')).slice(-16_384);
        });
      }
      this.open(this.remote[channel]).then(
        upstream => {
          this.sockets.add(upstream);
          upstream.on('close', () => this.sockets.delete(upstream));
          pipeline(client, upstream, () => client.destroy());
          pipeline(upstream, client, () => upstream.destroy());
        },
        () => client.destroy()
      );
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      // Jupyter wrote 127.0.0.1 (or localhost) into the file: never listen anywhere else.
      server.listen(this.local[channel], '127.0.0.1', () => resolve(server));
    });
  }
}
