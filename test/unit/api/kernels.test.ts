import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough, Duplex } from 'node:stream';
import { handleKernelChannel, isKernelChannelPath } from '../../../server/api/kernel-channels';
import { ShutdownWatch } from '../../../server/kernels/control-watch';
import { jsonHeaders, startHarness, TOKEN, type Harness } from './harness';

const good = { kernelId: 'k0123456789abcde', profile: 'gpu', key: 'a1b2c3d4-e5f6', signatureScheme: 'hmac-sha256' };

describe('POST /api/kernels (the launcher lease)', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(() => h.close());

  test.each([
    [{ ...good, kernelId: '../../etc' }, 'kernelId'],
    [{ ...good, kernelId: 'K-UPPER' }, 'kernelId'],
    [{ ...good, profile: '$(touch /tmp/x)' }, 'profile'],
    [{ ...good, key: '' }, 'key'],
    [{ ...good, key: 'has space' }, 'key'],
    [{ ...good, signatureScheme: 'md5' }, 'signatureScheme'],
    [{ ...good, env: { venv: 'relative/path' } }, 'env.venv'],
    [{ ...good, env: { conda: 'x', venv: '/y' } }, 'env'],
    [{ ...good, extra: 1 }, 'extra: unknown key'],
    [{ kernelId: good.kernelId }, 'profile']
  ])('refuses %j naming %s, and attaches nothing', async (body, field) => {
    const reply = await h.request('POST', '/hpclab/api/kernels', { headers: jsonHeaders, body: JSON.stringify(body) });
    expect(reply.status).toBe(400);
    expect(reply.json.error.code).toBe('invalid');
    expect(reply.json.error.message).toContain(field);
    expect(h.kernels.attached).toEqual([]);
  });

  test('a profile the companion does not know is a 404 before anything streams', async () => {
    h.kernels.failWith = Object.assign(new Error('unknown profile "nope" (known profiles: gpu)'), {
      name: 'SessionNotFoundError'
    });
    const reply = await h.request('POST', '/hpclab/api/kernels', {
      headers: jsonHeaders,
      body: JSON.stringify({ ...good, profile: 'nope' })
    });
    expect(reply.status).toBe(404);
    expect(reply.json.error.message).toContain('nope');
  });

  test('streams the lease events as JSON lines, and the launcher leaving detaches it', async () => {
    const lines: unknown[] = [];
    const req = http.request({
      host: '127.0.0.1',
      port: h.port,
      method: 'POST',
      path: '/hpclab/api/kernels',
      headers: { Host: `127.0.0.1:${h.port}`, Authorization: `Bearer ${TOKEN}`, ...jsonHeaders }
    });
    const response = new Promise<http.IncomingMessage>(resolve => req.on('response', resolve));
    req.on('error', () => undefined);
    req.end(JSON.stringify({ ...good, env: { venv: '/home/me/venv' } }));
    const res = await response;
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('application/x-ndjson');
    res.setEncoding('utf8');
    res.on('data', (chunk: string) =>
      lines.push(
        ...chunk
          .split('\n')
          .filter(Boolean)
          .map(l => JSON.parse(l))
      )
    );
    expect(h.kernels.attached).toHaveLength(1);
    expect(h.kernels.attached[0].request).toEqual({ ...good, env: { venv: '/home/me/venv' } });
    const { lease } = h.kernels.attached[0];
    lease.send({ type: 'warning', message: 'soon', minutesLeft: 2 });
    lease.send({ type: 'ready', jobId: '12', node: 'c1', host: '10.0.0.2' });
    await waitUntil(() => lines.length === 2);
    expect(lines).toEqual([
      { type: 'warning', message: 'soon', minutesLeft: 2 },
      { type: 'ready', jobId: '12', node: 'c1', host: '10.0.0.2' }
    ]);
    expect(h.kernels.detached).toBe(0);
    req.destroy(); // the launcher was killed
    await waitUntil(() => h.kernels.detached === 1);
  });
});

describe('kernel channel upgrades', () => {
  test('only /hpclab/kernels/<id>/channels/<one of the five> is a channel path', () => {
    for (const ok of ['shell', 'iopub', 'stdin', 'control', 'hb'])
      expect(isKernelChannelPath(`/hpclab/kernels/k0123456/channels/${ok}`)).toBe(true);
    for (const bad of [
      '/hpclab/kernels/k0123456/channels/other',
      '/hpclab/kernels/../channels/shell',
      '/hpclab/kernels/K012345/channels/shell',
      '/hpclab/kernels/k0123456/channels/shell/x',
      undefined
    ])
      expect(isKernelChannelPath(bad)).toBe(false);
  });

  test('pipes bytes both ways to the stream the service opens, and feeds the control watcher', async () => {
    const seen: Buffer[] = [];
    const opened: string[] = [];
    const server = http.createServer();
    server.on('upgrade', (req, socket, head) => {
      void handleKernelChannel(req, socket, head, {
        attach: () => () => undefined,
        async openChannel(id, channel) {
          opened.push(`${id}:${channel}`);
          if (id === 'k0000000') return undefined;
          return { upstream: echo(), fromClient: channel === 'control_port' ? (b: Buffer) => seen.push(b) : undefined };
        }
      });
    });
    await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      const socket = await upgrade(port, '/hpclab/kernels/k1234567/channels/control');
      socket.write('ping');
      expect((await once(socket)).toString()).toBe('ping');
      expect(Buffer.concat(seen).toString()).toBe('ping');
      socket.destroy();
      await expect(upgrade(port, '/hpclab/kernels/k0000000/channels/shell')).rejects.toThrow('404');
      await expect(upgrade(port, '/hpclab/kernels/k1234567/channels/shell', 'websocket')).rejects.toThrow('400');
      expect(opened).toEqual(['k1234567:control_port', 'k0000000:shell_port']);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});

describe('ShutdownWatch', () => {
  test('tells a restart from a shutdown, across split chunks, and says nothing before one', () => {
    const w = new ShutdownWatch();
    expect(w.requested()).toBeUndefined();
    w.feed(Buffer.from('{"msg_type":"interrupt_request"}{}'));
    expect(w.requested()).toBeUndefined();
    w.feed(Buffer.from('{"msg_type":"shutdown_req'));
    w.feed(Buffer.from('uest","version":"5.3"}{"restart": tr'));
    w.feed(Buffer.from('ue}'));
    expect(w.requested()).toBe('restart');
    w.feed(Buffer.from('{"msg_type":"shutdown_request"}{"restart":false}'));
    expect(w.requested()).toBe('shutdown');
  });
});

function echo(): Duplex {
  const pass = new PassThrough();
  return Duplex.from({ readable: pass, writable: pass });
}

function upgrade(port: number, path: string, protocol = 'hpclab-stream'): Promise<import('node:net').Socket> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, headers: { Connection: 'Upgrade', Upgrade: protocol } });
    req.on('upgrade', (_res, socket) => resolve(socket));
    req.on('response', res => reject(new Error(String(res.statusCode))));
    req.on('error', reject);
    req.end();
  });
}

function once(socket: import('node:net').Socket): Promise<Buffer> {
  return new Promise(resolve => socket.once('data', resolve));
}

async function waitUntil(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise(r => setTimeout(r, 10));
  expect(check()).toBe(true);
}
