import { EventEmitter } from 'node:events';
import type { Client } from 'ssh2';
import { createLogger } from '../../../server/log';
import { TransportError } from '../../../server/transport/errors';
import { SshTransport } from '../../../server/transport/ssh/ssh-transport';

/*
 * The SSH link's changes go to the log with their reason (connected, lost, reconnecting,
 * closed), and a cluster that stays unreachable is said once, not at every poll. A fake ssh2
 * client: its 'error' and 'close' are ours to emit.
 */

class FakeClient extends EventEmitter {
  end(): void {
    this.emit('close');
  }
  forwardOut(_a: string, _b: number, _c: string, _d: number, done: (err: Error | undefined) => void): void {
    done(new Error('refused by the test'));
  }
}

it('logs each connection change with its reason, and a repeated failure once', async () => {
  const entries: string[] = [];
  const logger = createLogger({ level: 'info', write: e => entries.push(e) }).child('ssh testbed');
  let next: () => FakeClient = () => new FakeClient();
  let client: FakeClient | undefined;
  const transport = new SshTransport({
    cluster: 'testbed',
    maxChannels: 2,
    backoffMs: { first: 1, max: 1 },
    connectBudgetMs: 20,
    logger,
    connect: async () => (client = next()) as unknown as Client
  });
  const use = () => transport.openStream({ host: 'node1', port: 1 }).catch((err: Error) => err.message);

  await use();
  client!.emit('error', new Error('Keepalive timeout'));
  client!.emit('close');
  next = () => {
    throw new TransportError('unreachable', 'connect ECONNREFUSED 127.0.0.1:2222', 'testbed');
  };
  await use();
  await use(); // still down: the same words again are not news
  next = () => new FakeClient();
  await use();
  await transport.close();

  expect(entries.map(e => e.replace(/^\S+ /, '').trimEnd())).toEqual([
    'INFO ssh testbed: connecting',
    'INFO ssh testbed: connected',
    'INFO ssh testbed: connection lost: Keepalive timeout',
    'INFO ssh testbed: reconnecting',
    'INFO ssh testbed: cannot connect: connect ECONNREFUSED 127.0.0.1:2222',
    'INFO ssh testbed: connected again (connection 2)',
    'INFO ssh testbed: closed'
  ]);
});

it("emits 'link' reports for the UI: a drop with its reason, each retry with its delay", async () => {
  let next: () => FakeClient = () => new FakeClient();
  let client: FakeClient | undefined;
  const transport = new SshTransport({
    cluster: 'testbed',
    maxChannels: 2,
    backoffMs: { first: 5, max: 5 },
    connectBudgetMs: 12,
    logger: createLogger({ level: 'error', write: () => undefined }),
    connect: async () => (client = next()) as unknown as Client
  });
  const reports: unknown[] = [];
  transport.on('link', report => reports.push(report));
  const use = () => transport.openStream({ host: 'node1', port: 1 }).catch((err: Error) => err.message);

  await use();
  client!.emit('error', new Error('Keepalive timeout'));
  client!.emit('close');
  next = () => {
    throw new TransportError('unreachable', 'connect ECONNREFUSED 127.0.0.1:2222', 'testbed');
  };
  await use();
  await transport.close();

  expect(reports[0]).toEqual({ state: 'connecting', reconnect: false });
  expect(reports[1]).toEqual({ state: 'connected', reconnect: false });
  expect(reports[2]).toEqual({ state: 'disconnected', reconnect: true, reason: 'Keepalive timeout' });
  expect(reports[3]).toEqual({ state: 'connecting', reconnect: true });
  // At least one wait between tries, said with its delay, before giving up within the budget.
  expect(reports).toContainEqual({
    state: 'connecting',
    reconnect: true,
    reason: 'connect ECONNREFUSED 127.0.0.1:2222',
    retryInMs: 5
  });
  expect(reports.at(-2)).toEqual({
    state: 'disconnected',
    reconnect: true,
    reason: 'connect ECONNREFUSED 127.0.0.1:2222'
  });
  expect(reports.at(-1)).toEqual({ state: 'closed', reconnect: true });
});
