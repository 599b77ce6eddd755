import * as http from 'node:http';
import type { Duplex } from 'node:stream';

/** One HTTP request to a Lab's server over a stream of the session, with its token; the body (rejects on ≥ 300). */
export function labRequest(
  stream: Duplex,
  method: string,
  pathname: string,
  token: string,
  body = method === 'POST' ? '{}' : undefined
): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        createConnection: () => stream as never,
        host: 'hpclab-node',
        method,
        path: pathname,
        headers: { Authorization: `token ${token}`, 'Content-Type': 'application/json', Connection: 'close' }
      },
      res => {
        let text = '';
        res.on('data', d => (text += d));
        res.on('end', () =>
          (res.statusCode ?? 0) < 300
            ? resolve(text)
            : reject(new Error(`${method} ${pathname}: ${res.statusCode} ${text}`))
        );
      }
    );
    req.on('error', reject);
    req.end(body);
  });
}
