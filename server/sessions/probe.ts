import * as http from 'node:http';
import type { Duplex } from 'node:stream';

/**
 * Asks the node's Jupyter server whether it answers: GET <baseUrl>api/status with its token,
 * over a stream the transport opened (ssh forwardOut or a direct socket). True on HTTP 200.
 */
export function probeServer(stream: Duplex, baseUrl: string, token: string, timeoutMs = 5_000): Promise<boolean> {
  return new Promise(resolve => {
    const req = http.request({
      createConnection: () => stream as never,
      host: 'hpclab-node',
      path: `${baseUrl}api/status`,
      headers: { ...(token ? { Authorization: `token ${token}` } : {}), Connection: 'close' },
      timeout: timeoutMs
    });
    const done = (ok: boolean) => {
      req.destroy();
      stream.destroy();
      resolve(ok);
    };
    req.on('response', res => {
      res.resume();
      done(res.statusCode === 200);
    });
    req.on('timeout', () => done(false));
    req.on('error', () => done(false));
    req.end();
  });
}
