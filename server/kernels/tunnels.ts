import * as net from 'node:net';
import { pipeline } from 'node:stream';
import type { Duplex } from 'node:stream';
import { CHANNELS, type ChannelPort, type ConnectionInfo } from './connection-file';

/**
 * Listens on the local ports Jupyter chose (127.0.0.1 only) and carries each connection to the
 * kernel's channel on the node, through whatever `open` returns (the companion's channel
 * streams). Bytes pass untouched in both directions.
 */
export class KernelTunnels {
  private readonly servers: net.Server[] = [];
  private readonly sockets = new Set<Duplex>();

  constructor(
    private readonly local: ConnectionInfo,
    private readonly open: (channel: ChannelPort) => Promise<Duplex>
  ) {}

  async start(): Promise<void> {
    for (const channel of CHANNELS) this.servers.push(await this.listen(channel));
  }

  close(): void {
    for (const s of this.servers) s.close();
    for (const s of this.sockets) s.destroy();
  }

  private listen(channel: ChannelPort): Promise<net.Server> {
    const server = net.createServer(client => {
      client.setNoDelay(true);
      this.track(client);
      this.open(channel).then(
        upstream => {
          this.track(upstream);
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

  private track(socket: Duplex): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
  }
}
