import http from 'node:http';
import type { Duplex } from 'node:stream';
import type { ProxyLookup } from '../../../server/sessions/types';
import {
  countingTarget,
  echoOf,
  eventually,
  request,
  startProxy,
  startUpstream,
  type CountingTarget,
  type RunningProxy,
  type Upstream
} from './harness';

const STATUS = '/hpclab/node/abc123/api/status';

describe('node proxy, failures', () => {
  let upstream: Upstream;
  let target: CountingTarget;
  let running: RunningProxy;
  let lookup: jest.Mock<ReturnType<ProxyLookup>, Parameters<ProxyLookup>>;

  beforeEach(async () => {
    upstream = await startUpstream();
    target = countingTarget(() => upstream.port);
    lookup = jest.fn((id: string) => (id === 'abc123' ? target : undefined));
    running = await startProxy(lookup, { connectTimeoutMs: 300 });
  });

  afterEach(async () => {
    await running.stop();
    await upstream.stop();
  });

  async function expectServing(): Promise<void> {
    const reply = await request(running.port, STATUS);
    expect(reply.status).toBe(200);
    expect(echoOf(reply).url).toBe(STATUS);
  }

  it('answers 404 for an unknown session, after asking', async () => {
    const reply = await request(running.port, '/hpclab/node/zzz999/lab');
    expect(reply.status).toBe(404);
    expect(reply.headers['content-type']).toMatch(/^text\/html/);
    expect(reply.body.toString()).toContain('No such session');
    expect(lookup).toHaveBeenCalledWith('zzz999');
  });

  it.each([
    '/hpclab/node/ABC123/lab',
    '/hpclab/node/abc12/lab',
    `/hpclab/node/${'a'.repeat(33)}/lab`,
    '/hpclab/node/abc-123/lab',
    '/hpclab/node//lab',
    '/hpclab/nodes/abc123/lab',
    '/hpclab/node/abc123/../zzz999/lab',
    '/hpclab/node/abc123/%2e%2e/x',
    '/hpclab/node/abc123/%2E%2e%2fx',
    '/hpclab/node/abc123/lab/..%5c..%5cx',
    '/hpclab/node/abc123/./lab'
  ])('answers 404 without a lookup for %s', async path => {
    const reply = await request(running.port, path, { headers: { accept: 'application/json' } });
    expect(reply.status).toBe(404);
    expect(JSON.parse(reply.body.toString())).toEqual({
      error: { code: 'session-not-found', message: expect.any(String) }
    });
    expect(lookup).not.toHaveBeenCalled();
  });

  it('answers 503 with a readable page while the session is pending', async () => {
    lookup.mockReturnValue({ live: false, state: 'pending', message: 'Waiting for resources <gpu:a100>' });
    const reply = await request(running.port, '/hpclab/node/abc123/lab', {
      headers: { accept: 'text/html,application/xhtml+xml' }
    });
    expect(reply.status).toBe(503);
    expect(reply.headers['retry-after']).toBe('5');
    expect(reply.headers['cache-control']).toBe('no-store');
    const page = reply.body.toString();
    expect(page).toContain('Waiting for resources &#60;gpu:a100&#62;');
    expect(page).toContain('<code>pending</code>');
    expect(target.connects).toBe(0);
  });

  it('answers 503 at once, retrying, while a running session cannot be reached (its cluster link is down)', async () => {
    lookup.mockReturnValue({
      live: false,
      state: 'running',
      message:
        'cluster unreachable: cannot connect to login:22. The session keeps running on its node; this page tries again by itself.'
    });
    const reply = await request(running.port, '/hpclab/node/abc123/lab', { headers: { accept: 'text/html' } });
    expect(reply.status).toBe(503);
    expect(reply.headers['retry-after']).toBe('5');
    const page = reply.body.toString();
    expect(page).toContain('<meta http-equiv="refresh" content="5">');
    expect(page).toContain('The session cannot be reached right now');
    expect(page).toContain('cluster unreachable: cannot connect to login:22.');
    expect(target.connects).toBe(0);
  });

  it('answers 503 with JSON for API clients, without Retry-After once the session has ended', async () => {
    lookup.mockReturnValue({ live: false, state: 'ended', message: 'The job reached its time limit.' });
    const reply = await request(running.port, STATUS, { headers: { accept: 'application/json' } });
    expect(reply.status).toBe(503);
    expect(reply.headers).not.toHaveProperty('retry-after');
    expect(JSON.parse(reply.body.toString())).toEqual({
      error: { code: 'session-unavailable', message: 'The job reached its time limit.', state: 'ended' }
    });
  });

  it('answers 503 when connect() rejects, and keeps serving', async () => {
    const working = target.connect;
    target.connect = () => Promise.reject(new Error('channel open failure: Connection refused'));
    const reply = await request(running.port, STATUS);
    expect(reply.status).toBe(503);
    expect(reply.body.toString()).toContain('The session&#39;s server is not answering');
    target.connect = working;
    await expectServing();
  });

  it('answers 503 when connect() hangs past the limit, and closes the stream that arrives late', async () => {
    let late: Duplex | undefined;
    const working = target.connect;
    target.connect = () => new Promise(resolve => setTimeout(() => working().then(s => resolve((late = s))), 600));
    const started = Date.now();
    const reply = await request(running.port, STATUS);
    expect(reply.status).toBe(503);
    expect(Date.now() - started).toBeLessThan(600);
    await eventually(() => late?.destroyed === true, 'late stream destroyed');
    target.connect = working;
    await expectServing();
  });

  it('answers 503 when the node drops the connection before answering, and keeps serving', async () => {
    const reply = await request(running.port, '/hpclab/node/abc123/api/die');
    expect(reply.status).toBe(503);
    await expectServing();
  });

  it('breaks the browser response when the node dies mid-body, and keeps serving', async () => {
    await expect(request(running.port, '/hpclab/node/abc123/files/half')).rejects.toThrow(
      /aborted|socket hang up|ECONNRESET/
    );
    await expectServing();
  });

  it('answers 503 once the node server is gone, and serves again when it is back', async () => {
    await expectServing();
    await upstream.stop();
    await eventually(() => target.streams.every(s => s.destroyed), 'pooled stream closed');
    const reply = await request(running.port, STATUS, { headers: { accept: 'application/json' } });
    expect(reply.status).toBe(503);
    expect(JSON.parse(reply.body.toString()).error.code).toBe('session-not-answering');
    upstream = await startUpstream(); // a new port: connect() reads it each time
    await expectServing();
  });

  it('closes the node stream when the browser gives up on a request', async () => {
    const req = http.request({ host: '127.0.0.1', port: running.port, path: '/hpclab/node/abc123/api/hang' });
    req.on('error', () => undefined);
    req.end();
    await eventually(() => upstream.accepted === 1, 'request reached the node');
    req.destroy();
    await eventually(() => upstream.closed === 1, 'node connection closed');
    await expectServing();
  });

  it('forget() closes pooled streams; the next request opens a new one', async () => {
    await expectServing();
    expect(upstream.accepted - upstream.closed).toBe(1);
    running.proxy.forget('abc123');
    await eventually(() => upstream.closed === 1, 'node saw the pooled connection close');
    await expectServing();
    expect(target.connects).toBe(2);
  });

  it('forgets a session by itself once lookup says it has ended', async () => {
    await expectServing();
    lookup.mockReturnValue({ live: false, state: 'ended', message: 'done' });
    expect((await request(running.port, STATUS)).status).toBe(503);
    await eventually(() => upstream.closed === 1, 'pooled connection closed');
  });

  it('close() closes everything and answers 503 afterwards', async () => {
    await expectServing();
    running.proxy.close();
    await eventually(() => upstream.closed === 1, 'pooled connection closed');
    expect((await request(running.port, STATUS)).status).toBe(503);
    expect(lookup).toHaveBeenCalledTimes(1);
  });

  it('answers 503 when lookup itself throws', async () => {
    lookup.mockImplementation(() => {
      throw new Error('store unavailable');
    });
    expect((await request(running.port, STATUS)).status).toBe(503);
  });
});
