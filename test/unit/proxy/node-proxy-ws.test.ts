import type { IncomingMessage } from 'node:http';
import net from 'node:net';
import WebSocket from 'ws';
import type { ProxyLookup } from '../../../server/sessions/types';
import {
  countingTarget,
  eventually,
  request,
  startProxy,
  startUpstream,
  type CountingTarget,
  type RunningProxy,
  type Upstream
} from './harness';

const CHANNELS = '/hpclab/node/abc123/api/kernels/4f1c/channels?session_id=s1';

function open(port: number, path = CHANNELS, headers: Record<string, string> = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { headers, origin: `http://127.0.0.1:${port}` });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { res })));
  });
}

/** The status and body a refused upgrade got. */
async function refusal(
  port: number,
  path: string,
  headers: Record<string, string> = {}
): Promise<{ status: number; body: string; res: IncomingMessage }> {
  const err = await open(port, path, headers).then(
    ws => {
      ws.terminate();
      throw new Error('upgrade unexpectedly accepted');
    },
    (e: Error & { res?: IncomingMessage }) => e
  );
  if (!err.res) throw err;
  const chunks: Buffer[] = [];
  for await (const chunk of err.res) chunks.push(chunk as Buffer);
  return { status: err.res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), res: err.res };
}

function nextMessage(ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  return new Promise(resolve => ws.once('message', (data, isBinary) => resolve({ data: data as Buffer, isBinary })));
}

function closed(ws: WebSocket): Promise<void> {
  return new Promise(resolve => (ws.readyState === WebSocket.CLOSED ? resolve() : ws.once('close', () => resolve())));
}

describe('node proxy, WebSockets', () => {
  let upstream: Upstream;
  let target: CountingTarget;
  let running: RunningProxy;
  let lookup: jest.Mock<ReturnType<ProxyLookup>, Parameters<ProxyLookup>>;

  beforeEach(async () => {
    upstream = await startUpstream();
    target = countingTarget(() => upstream.port);
    lookup = jest.fn((id: string) => (id === 'abc123' ? target : undefined));
    running = await startProxy(lookup);
  });

  afterEach(async () => {
    await running.stop();
    await upstream.stop();
  });

  it('echoes text and binary messages through the proxy', async () => {
    const ws = await open(running.port);
    ws.send('{"msg_type":"kernel_info_request"}');
    expect(await nextMessage(ws)).toEqual({ data: Buffer.from('{"msg_type":"kernel_info_request"}'), isBinary: false });
    const binary = Buffer.from([0, 1, 2, 253, 254, 255]);
    ws.send(binary);
    expect(await nextMessage(ws)).toEqual({ data: binary, isBinary: true });
    ws.close();
    await closed(ws);
  });

  it('upgrades with the same path, the node token, a matching Origin and without the companion cookie', async () => {
    const ws = await open(running.port, CHANNELS, {
      authorization: 'token companion-secret',
      cookie: 'hpclab-token=companion-secret; _xsrf=2|x'
    });
    expect(upstream.lastUpgrade?.url).toBe(CHANNELS);
    const headers = upstream.lastUpgrade?.headers ?? {};
    expect(headers.authorization).toBe('token node-secret');
    expect(headers.host).toBe('127.0.0.1');
    // Jupyter accepts an upgrade whose Origin host equals its Host.
    expect(new URL(String(headers.origin)).host).toBe(headers.host);
    expect(headers.cookie).toBe('_xsrf=2|x');
    ws.terminate();
  });

  it('opens a fresh stream per upgrade and never pools it', async () => {
    await request(running.port, '/hpclab/node/abc123/api/status');
    expect(target.connects).toBe(1);
    const ws = await open(running.port);
    expect(target.connects).toBe(2);
    ws.close();
    await closed(ws);
    await eventually(() => upstream.closed === 1, 'the WebSocket stream closed at the node');
    await request(running.port, '/hpclab/node/abc123/api/status');
    expect(target.connects).toBe(2); // the plain request went back to its pooled stream
  });

  it('closes the browser side when the node ends the WebSocket, and the node side when the browser leaves', async () => {
    const first = await open(running.port);
    upstream.dropWebSockets();
    await closed(first);
    expect(target.streams[0].destroyed).toBe(true);

    const second = await open(running.port);
    second.terminate();
    await eventually(() => target.streams[1].destroyed, 'node stream closed after the browser left');
    await eventually(() => upstream.closed === 2, 'node saw both connections close');
  });

  it('cuts the WebSocket, never writing HTTP into it, when the node stream fails after the upgrade', async () => {
    const ws = await open(running.port);
    const errors: Error[] = [];
    ws.on('error', err => errors.push(err));
    const code = new Promise<number>(resolve => ws.once('close', resolve));
    target.streams[0].destroy(new Error('channel reset'));
    expect(await code).toBe(1006);
    expect(errors).toEqual([]);
  });

  it.each([
    ['the node answers', false],
    ['the node cannot be reached', true]
  ])('survives a browser that resets its connection while the upgrade is under way (%s)', async (_case, fails) => {
    const working = target.connect;
    let opening: Promise<unknown> | undefined;
    target.connect = () => {
      const later = new Promise(resolve => setTimeout(resolve, 50));
      const stream = fails ? later.then(() => Promise.reject(new Error('channel open failure'))) : later.then(working);
      opening = stream.catch(() => undefined);
      return stream;
    };
    const socket = net.connect(running.port, '127.0.0.1');
    await new Promise(resolve => socket.once('connect', resolve));
    socket.write(
      `GET ${CHANNELS} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n'
    );
    await eventually(() => opening !== undefined, 'upgrade reached connect()');
    socket.resetAndDestroy();
    await opening;
    await eventually(() => target.streams.every(s => s.destroyed), 'node stream closed');
    await new Promise(resolve => setTimeout(resolve, 20)); // let a write into the reset socket fail
    target.connect = working;
    const ws = await open(running.port);
    ws.terminate();
  });

  it('answers 404 for unknown ids, bad ids and bare session paths without upgrading', async () => {
    expect((await refusal(running.port, '/hpclab/node/zzz999/api/events/subscribe')).status).toBe(404);
    expect((await refusal(running.port, '/hpclab/node/ABC123/api/events/subscribe')).status).toBe(404);
    expect((await refusal(running.port, '/hpclab/node/abc123')).status).toBe(404);
    expect((await refusal(running.port, '/hpclab/node/abc123/%2e%2e/x')).status).toBe(404);
    expect(lookup.mock.calls).toEqual([['zzz999']]);
  });

  it('answers 503 with JSON when the session is not live', async () => {
    lookup.mockReturnValue({ live: false, state: 'starting', message: 'Jupyter is starting on gpu01' });
    const { status, body, res } = await refusal(running.port, CHANNELS, { accept: 'application/json' });
    expect(status).toBe(503);
    expect(res.headers['retry-after']).toBe('5');
    expect(JSON.parse(body)).toEqual({
      error: { code: 'session-unavailable', message: 'Jupyter is starting on gpu01', state: 'starting' }
    });
  });

  it('answers 503 when the node cannot be reached, and keeps serving', async () => {
    target.connect = () => Promise.reject(new Error('channel open failure'));
    const { status, body } = await refusal(running.port, CHANNELS);
    expect(status).toBe(503);
    expect(body).toContain('not answering');
    target.connect = countingTarget(() => upstream.port).connect;
    const ws = await open(running.port);
    ws.terminate();
  });

  it("passes the node's refusal through, with a body the browser can read", async () => {
    const { status, body } = await refusal(running.port, '/hpclab/node/abc123/refuse');
    expect(status).toBe(403);
    expect(body).toBe('nope!');
  });

  it('forget() closes live WebSockets of that session', async () => {
    const ws = await open(running.port);
    running.proxy.forget('abc123');
    await closed(ws);
    await eventually(() => upstream.closed === upstream.accepted, 'node side closed');
  });
});
