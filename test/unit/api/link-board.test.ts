import * as http from 'node:http';
import { eventSchemas } from '../../../src/contract';
import { LinkBoard } from '../../../server/api/link-board';
import { startHarness, TOKEN } from './harness';

/*
 * The login connection as the sidebar hears it: SSH transport states become link events
 * (a drop and its retries are "reconnecting", with why and when the next try is), and a tab
 * opened during an outage hears it at once.
 */

test('transport states become link states; a first connect is not a reconnect', () => {
  const board = new LinkBoard();
  const seen: unknown[] = [];
  board.subscribe(e => seen.push(e));
  board.report('tb', { state: 'idle', reconnect: false });
  board.report('tb', { state: 'connecting', reconnect: false });
  board.report('tb', { state: 'connected', reconnect: false });
  board.report('tb', { state: 'disconnected', reconnect: true, reason: 'connection reset' });
  board.report('tb', { state: 'connecting', reconnect: true });
  board.report('tb', { state: 'connecting', reconnect: true, reason: 'connection refused', retryInMs: 1000 });
  board.report('tb', { state: 'closed', reconnect: true });
  expect(seen).toEqual([
    { type: 'link', cluster: 'tb', state: 'connecting', message: null, retryInMs: null },
    { type: 'link', cluster: 'tb', state: 'up', message: null, retryInMs: null },
    { type: 'link', cluster: 'tb', state: 'down', message: 'connection reset', retryInMs: null },
    { type: 'link', cluster: 'tb', state: 'reconnecting', message: null, retryInMs: null },
    { type: 'link', cluster: 'tb', state: 'reconnecting', message: 'connection refused', retryInMs: 1000 }
  ]);
  for (const event of seen) expect(eventSchemas.link.parse(event)).toEqual(event);
});

test('a new subscriber hears each cluster that is not up, and nothing of those that are', () => {
  const board = new LinkBoard();
  board.report('a', { state: 'connected', reconnect: false });
  board.report('b', { state: 'disconnected', reconnect: true, reason: 'no route to host' });
  const seen: { cluster: string; state: string }[] = [];
  const off = board.subscribe(e => seen.push(e));
  expect(seen.map(e => [e.cluster, e.state])).toEqual([['b', 'down']]);
  off();
  board.report('b', { state: 'connected', reconnect: true });
  expect(seen).toHaveLength(1);
  expect(board.current().map(e => [e.cluster, e.state])).toEqual([
    ['a', 'up'],
    ['b', 'up']
  ]);
});

test('link events reach the event stream as `event: link`', async () => {
  const links = new LinkBoard();
  links.report('testbed', { state: 'disconnected', reconnect: true, reason: 'keepalive timeout' });
  const h = await startHarness({ links });
  try {
    let text = '';
    const req = http.get({
      host: '127.0.0.1',
      port: h.port,
      path: '/hpclab/events',
      headers: { Authorization: `Bearer ${TOKEN}` },
      agent: false
    });
    const res = await new Promise<http.IncomingMessage>((resolve, reject) =>
      req.on('response', resolve).on('error', reject)
    );
    res.setEncoding('utf8');
    const until = (needle: string) =>
      new Promise<void>(resolve => {
        const check = () => (text.includes(needle) ? resolve() : undefined);
        res.on('data', (chunk: string) => ((text += chunk), check()));
        check();
      });
    await until('"state":"down"');
    links.report('testbed', { state: 'connecting', reconnect: true, reason: 'connection refused', retryInMs: 2000 });
    await until('"retryInMs":2000');
    expect(text).toContain(
      'event: link\ndata: {"type":"link","cluster":"testbed","state":"down","message":"keepalive timeout","retryInMs":null}\n\n'
    );
    expect(text).toContain(
      'event: link\ndata: {"type":"link","cluster":"testbed","state":"reconnecting","message":"connection refused","retryInMs":2000}\n\n'
    );
    req.destroy();
  } finally {
    await h.close();
  }
});
