import type { Client, SFTPWrapper } from 'ssh2';
import { errorMessage, type Logger } from '../../log';
import { TransportError } from '../errors';

export interface SftpOpenOptions {
  cluster: string;
  /** False once the transport moved to another connection: a refused open is then not retried. */
  stillCurrent: () => boolean;
  retries: number;
  logger: Logger;
}

/**
 * One SFTP session per SSH connection, opened on first use and shared. Like a relay it holds one
 * channel outside the channel limiter for as long as it lives; it is forgotten when it ends or
 * fails, so the next request opens a fresh one.
 */
export class SftpSessions {
  private readonly sessions = new WeakMap<Client, Promise<SFTPWrapper>>();

  get(client: Client, o: SftpOpenOptions): Promise<SFTPWrapper> {
    const open = this.sessions.get(client);
    if (open) return open;
    const session = openSftp(client, o);
    this.sessions.set(client, session);
    const forget = () => {
      if (this.sessions.get(client) === session) this.sessions.delete(client);
    };
    session.then(sftp => {
      sftp.once('end', forget);
      sftp.once('close', forget);
      // Without a listener an 'error' would end the process; requests in flight fail on their own.
      sftp.on('error', (err: Error) => {
        forget();
        o.logger.debug('the SFTP session failed', err);
      });
    }, forget);
    return session;
  }
}

async function openSftp(client: Client, o: SftpOpenOptions): Promise<SFTPWrapper> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await new Promise<SFTPWrapper>((resolve, reject) =>
        client.sftp((err, sftp) => (err ? reject(err) : resolve(sftp)))
      );
    } catch (err) {
      // As for commands: sshd frees a session slot a moment after a channel closes.
      if (!o.stillCurrent() || attempt >= o.retries) {
        const message = `cannot start SFTP (the login node's sshd may not offer it): ${errorMessage(err)}`;
        throw new TransportError('unreachable', message, o.cluster, { cause: err });
      }
      await new Promise(r => setTimeout(r, 25 * attempt));
    }
  }
}
