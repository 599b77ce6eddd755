import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createNodeProxy } from '../../../server/proxy/node-proxy';
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

describe('node proxy, HTTP', () => {
  let upstream: Upstream;
  let target: CountingTarget;
  let running: RunningProxy;
  let browser: http.Agent;

  beforeEach(async () => {
    upstream = await startUpstream();
    target = countingTarget(() => upstream.port);
    running = await startProxy(id => (id === 'abc123' ? target : undefined));
    browser = new http.Agent({ keepAlive: true });
  });

  afterEach(async () => {
    browser.destroy();
    await running.stop();
    await upstream.stop();
  });

  it('forwards a GET with path and query unchanged', async () => {
    const path = '/hpclab/node/abc123/api/contents/my%20dir/a%2Fb.ipynb?content=1&type=notebook&x=%C3%A9';
    const reply = await request(running.port, path);
    expect(reply.status).toBe(200);
    expect(echoOf(reply)).toMatchObject({ method: 'GET', url: path, bodyLength: 0 });
  });

  it("cuts the companion's ?token= from the URL, in place, other params kept", async () => {
    const reply = await request(running.port, '/hpclab/node/abc123/api/kernels?a=1&token=companion-secret&b=%2F', {
      method: 'POST'
    });
    expect(reply.status).toBe(200);
    expect(echoOf(reply)).toMatchObject({ method: 'POST', url: '/hpclab/node/abc123/api/kernels?a=1&b=%2F' });
  });

  it('streams a 1 MB POST body both ways intact', async () => {
    const body = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < body.length; i++) body[i] = (i * 7919) % 251;
    const reply = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.request({
        host: '127.0.0.1',
        port: running.port,
        method: 'POST',
        path: '/hpclab/node/abc123/api/upload?chunk=1'
      });
      req.on('response', resolve).on('error', reject);
      // Written in pieces without a length: chunked all the way to the node.
      for (let at = 0; at < body.length; at += 64 * 1024) req.write(body.subarray(at, at + 64 * 1024));
      req.end();
    });
    const chunks: Buffer[] = [];
    for await (const chunk of reply) chunks.push(chunk as Buffer);
    const echo = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    expect(echo).toMatchObject({
      method: 'POST',
      url: '/hpclab/node/abc123/api/upload?chunk=1',
      bodyLength: body.length
    });
    expect(echo.bodySha256).toBe(createHash('sha256').update(body).digest('hex'));
  });

  it("adds the node's token and keeps the user's credentials for the companion to itself", async () => {
    const reply = await request(running.port, '/hpclab/node/abc123/api/status', {
      method: 'POST',
      headers: {
        authorization: 'token companion-secret',
        cookie: 'theme=dark; hpclab-token=companion-secret; _xsrf=2|abc|def; username-127-0-0-1=x',
        origin: `http://127.0.0.1:${running.port}`,
        referer: `http://127.0.0.1:${running.port}/hpclab/node/abc123/lab?token=companion-secret`,
        'x-xsrftoken': '2|abc|def',
        'proxy-authorization': 'Basic Zm9vOmJhcg==',
        connection: 'keep-alive, x-hop',
        'x-hop': 'dropped'
      },
      body: '{}'
    });
    const { headers } = echoOf(reply);
    expect(headers.authorization).toBe('token node-secret');
    expect(headers.cookie).toBe('theme=dark; _xsrf=2|abc|def; username-127-0-0-1=x');
    expect(headers.host).toBe('127.0.0.1');
    expect(headers.origin).toBe('http://127.0.0.1');
    expect(headers['x-xsrftoken']).toBe('2|abc|def');
    expect(headers).not.toHaveProperty('referer');
    expect(headers).not.toHaveProperty('proxy-authorization');
    expect(headers).not.toHaveProperty('x-hop');
    expect(JSON.stringify(headers)).not.toContain('companion-secret');
  });

  it('sends no Cookie header when the companion cookie was the only one', async () => {
    const { headers } = echoOf(
      await request(running.port, '/hpclab/node/abc123/', { headers: { cookie: 'hpclab-token=s' } })
    );
    expect(headers).not.toHaveProperty('cookie');
    expect(headers).not.toHaveProperty('origin');
  });

  it('reuses one stream for sequential requests (keep-alive to the node)', async () => {
    for (let i = 0; i < 5; i++) {
      const reply = await request(running.port, `/hpclab/node/abc123/api/sessions?i=${i}`);
      expect(echoOf(reply).url).toBe(`/hpclab/node/abc123/api/sessions?i=${i}`);
    }
    expect(target.connects).toBe(1);
    expect(upstream.accepted).toBe(1);
  });

  it('keeps the browser connection alive across requests', async () => {
    for (let i = 0; i < 5; i++) {
      const reply = await request(running.port, '/hpclab/node/abc123/api/kernels', { agent: browser });
      expect(reply.status).toBe(200);
      expect(reply.headers.connection).toBe('keep-alive');
      expect(reply.headers['keep-alive'] ?? '').not.toContain('timeout=61');
    }
    expect(running.connections).toBe(1);
  });

  it('redirects the bare session path to its trailing slash, query kept', async () => {
    const lookup = jest.fn(() => target);
    const other = await startProxy(lookup);
    try {
      const reply = await request(other.port, '/hpclab/node/abc123?reset=1&a=b');
      expect(reply.status).toBe(301);
      expect(reply.headers.location).toBe('/hpclab/node/abc123/?reset=1&a=b');
      expect(lookup).not.toHaveBeenCalled();
    } finally {
      await other.stop();
    }
  });

  it('works over a bare Duplex without socket methods (an ssh channel)', async () => {
    const channelTarget = countingTarget(() => upstream.port, { plainDuplex: true });
    const other = await startProxy(() => channelTarget);
    try {
      for (let i = 0; i < 3; i++) {
        const reply = await request(other.port, `/hpclab/node/abc123/lab?i=${i}`);
        expect(echoOf(reply).url).toBe(`/hpclab/node/abc123/lab?i=${i}`);
      }
      expect(channelTarget.connects).toBe(1);
      other.proxy.forget('abc123');
      await eventually(() => channelTarget.streams.every(s => s.destroyed), 'channel closed by forget()');
    } finally {
      await other.stop();
    }
  });

  it('forwards the whole path when mounted under an express path', async () => {
    const proxy = createNodeProxy({ lookup: () => target });
    const app = express();
    app.use('/hpclab/node', (req, res) => proxy.handleRequest(req, res));
    const server = http.createServer(app);
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    try {
      const reply = await request((server.address() as AddressInfo).port, '/hpclab/node/abc123/tree?x=1');
      expect(echoOf(reply).url).toBe('/hpclab/node/abc123/tree?x=1');
    } finally {
      proxy.close();
      server.closeAllConnections();
      await new Promise(resolve => server.close(resolve));
    }
  });

  it('refuses a prefix that is not an absolute path ending in a slash', () => {
    expect(() => createNodeProxy({ lookup: () => undefined, prefix: 'hpclab/node' })).toThrow(TypeError);
    expect(() => createNodeProxy({ lookup: () => undefined, prefix: '/hpclab/node' })).toThrow(TypeError);
  });
});
