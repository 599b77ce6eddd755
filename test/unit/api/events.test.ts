import * as http from 'node:http';
import express from 'express';
import type { AddressInfo } from 'node:net';
import { EventHub, sseFrame } from '../../../server/api/events';
import { FakeSessions } from './harness';
import { sessionInfo, startHarness, TOKEN, type Harness } from './harness';

/** An SSE client on a real socket that collects frames as they arrive. */
function openEvents(h: Harness, headers: Record<string, string> = { Authorization: `Bearer ${TOKEN}` }) {
  let buffer = '';
  const waiters: (() => void)[] = [];
  let response!: http.IncomingMessage;
  const req = http.get({ host: '127.0.0.1', port: h.port, path: '/hpclab/events', headers, agent: false });
  const opened = new Promise<http.IncomingMessage>((resolve, reject) => {
    req.on('response', res => {
      response = res;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        waiters.splice(0).forEach(w => w());
      });
      resolve(res);
    });
    req.on('error', reject);
  });
  const until = async (predicate: (text: string) => boolean) => {
    while (!predicate(buffer)) await new Promise<void>(resolve => waiters.push(resolve));
    return buffer;
  };
  const ended = () => new Promise<void>(resolve => (response.readableEnded ? resolve() : response.on('end', resolve)));
  return { opened, until, ended, close: () => req.destroy(), text: () => buffer };
}

const waitFor = async (predicate: () => boolean) => {
  for (let i = 0; i < 200 && !predicate(); i++) await new Promise(r => setTimeout(r, 5));
  expect(predicate()).toBe(true);
};

let h: Harness;
beforeEach(async () => {
  h = await startHarness({ heartbeatMs: 50 });
  h.sessions.sessions.set('abc123', sessionInfo('abc123'));
});
afterEach(() => h.close());

test('snapshot first, then each SessionEvent by type, and heartbeats', async () => {
  const client = openEvents(h);
  const res = await client.opened;
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
  expect(res.headers['cache-control']).toBe('no-store');

  await client.until(t => t.includes('event: snapshot'));
  expect(client.text()).toContain(sseFrame('snapshot', { type: 'snapshot', sessions: [sessionInfo('abc123')] }));
  expect(client.text().startsWith('retry: 3000\n\nevent: snapshot\n')).toBe(true);

  const update = { type: 'session' as const, session: sessionInfo('abc123', { state: 'ending' }) };
  const warning = {
    type: 'walltime-warning' as const,
    sessionId: 'abc123',
    minutesLeft: 10,
    endsAt: '2025-01-01T01:00:10.000Z'
  };
  const failed = {
    type: 'session' as const,
    session: sessionInfo('abc123', { state: 'failed', message: 'line\nbreak' })
  };
  h.sessions.emit(update);
  h.sessions.emit(warning);
  h.sessions.emit(failed);
  await client.until(t => t.includes('line\\nbreak'));
  const text = client.text();
  expect(text).toContain(`event: session\ndata: ${JSON.stringify(update)}\n\n`);
  expect(text).toContain(`event: walltime-warning\ndata: ${JSON.stringify(warning)}\n\n`);
  expect(text).toContain(`event: session\ndata: ${JSON.stringify(failed)}\n\n`);

  await client.until(t => t.includes(': heartbeat\n\n'));
  client.close();
});

test('a client that disconnects is unsubscribed (no listener leak)', async () => {
  for (let i = 0; i < 3; i++) {
    const client = openEvents(h);
    await client.opened;
    await client.until(t => t.includes('event: snapshot'));
    client.close();
  }
  await waitFor(() => h.sessions.unsubscribeCalls === 3);
  expect(h.sessions.subscribeCalls).toBe(3);
  expect(h.sessions.listeners.size).toBe(0);
});

test('the cookie works too; without a token nothing is subscribed', async () => {
  const anon = openEvents(h, {});
  expect((await anon.opened).statusCode).toBe(401);
  const cookie = openEvents(h, { Cookie: `hpclab-token=${TOKEN}` });
  expect((await cookie.opened).statusCode).toBe(200);
  await cookie.until(t => t.includes('event: snapshot'));
  expect(h.sessions.subscribeCalls).toBe(1);
  cookie.close();
});

test('close() ends open streams, unsubscribes, and refuses new ones with 503', async () => {
  const client = openEvents(h);
  await client.opened;
  await client.until(t => t.includes('event: snapshot'));
  h.api.close();
  await client.ended();
  expect(h.sessions.listeners.size).toBe(0);
  const late = await h.request('GET', '/hpclab/events');
  expect(late.status).toBe(503);
  expect(late.json.error.code).toBe('closing');
});

test('a subscribe that throws is a JSON 500, not a half-open stream', async () => {
  h.sessions.subscribe = () => {
    throw new Error('boom');
  };
  const reply = await h.request('GET', '/hpclab/events');
  expect(reply.status).toBe(500);
  expect(reply.headers['content-type']).toMatch(/^application\/json/);
});

test('HEAD /events answers the headers without subscribing', async () => {
  const reply = await h.request('HEAD', '/hpclab/events');
  expect(reply.status).toBe(200);
  expect(h.sessions.subscribeCalls).toBe(0);
});

test('a client that stops reading is dropped once too much is buffered for it', async () => {
  const sessions = new FakeSessions();
  const hub = new EventHub({ sessions, maxBufferedBytes: 64 * 1024 });
  const app = express().get('/events', hub.handle);
  const server = http.createServer(app);
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  try {
    const req = http.get({
      host: '127.0.0.1',
      port: (server.address() as AddressInfo).port,
      path: '/events',
      agent: false
    });
    const res = await new Promise<http.IncomingMessage>(resolve => req.on('response', resolve));
    res.pause(); // a stuck tab
    req.on('error', () => undefined);
    const big = { type: 'session' as const, session: sessionInfo('abc123', { message: 'x'.repeat(1024 * 1024) }) };
    for (let i = 0; i < 64 && hub.size > 0; i++) {
      sessions.emit(big);
      await new Promise(r => setImmediate(r));
    }
    expect(hub.size).toBe(0);
    expect(sessions.unsubscribeCalls).toBe(1);
    req.destroy();
  } finally {
    hub.close();
    server.closeAllConnections();
    await new Promise(resolve => server.close(resolve));
  }
});
