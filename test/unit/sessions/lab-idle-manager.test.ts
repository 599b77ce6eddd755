import { EventEmitter } from 'node:events';
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { HpclabConfig } from '../../../server/config/schema';
import { createLogger } from '../../../server/log';
import type { ClusterPoller } from '../../../server/scheduler/poller';
import type { Job, JobState, Scheduler } from '../../../server/scheduler/types';
import { SessionManager } from '../../../server/sessions/manager';
import type { SessionRecord, SessionStore } from '../../../server/sessions/store';
import type { SessionEvent } from '../../../server/sessions/types';
import type { Transport } from '../../../server/transport/types';

/*
 * A running Lab whose profile has an idle limit, through the session manager with fakes: its
 * server (a loopback HTTP server answering /api/status) says nothing happened, so the user is
 * warned (an event and a log line with the session id), the job is cancelled, and when squeue
 * reports it CANCELLED the session ends with reason `idle`, not `cancelled`.
 */

const MINUTE_MS = 150;
const CONFIG = {
  clusters: { c: { local: true } },
  profiles: { idle: { cluster: 'c', idleMinutes: 2 }, never: { cluster: 'c', gres: 'gpu:1', idleMinutes: 0 } }
} as unknown as HpclabConfig;

function runningRecord(id: string, profile: string): SessionRecord {
  return {
    info: {
      id,
      kind: 'lab',
      cluster: 'c',
      profile,
      state: 'running',
      jobId: id === 'idle1idle' ? '42' : '43',
      pending: null,
      node: 'n1',
      createdAt: '2025-01-01T00:00:00.000Z',
      startedAt: '2025-01-01T00:00:00.000Z',
      endsAt: null,
      endedAt: null,
      endReason: null,
      message: null,
      baseUrl: `/hpclab/node/${id}/`
    },
    sessionDir: `/home/u/.hpclab/sessions/${id}`,
    target: { socketPath: '/not/used' },
    token: 'tok',
    stopRequested: false,
    idempotencyKey: null
  };
}

function job(id: string, state: JobState): Job {
  return {
    id,
    arrayJobId: null,
    arrayTaskId: null,
    name: 'hpclab-x',
    user: 'u',
    state,
    reason: null,
    partition: 'debug',
    nodes: 'n1',
    numNodes: 1,
    numCpus: 1,
    timeUsed: 0,
    timeLimit: 3600,
    timeLeft: null,
    submitTime: null,
    startTime: null,
    gres: null,
    comment: null,
    workDir: null
  };
}

class FakePoller extends EventEmitter {
  jobs = { get: async () => ({ data: [], fetchedAt: new Date() }), invalidate: () => undefined };
  start(): void {}
  stop(): void {}
}

/** Waits for `done` (a loaded machine may be slow), failing after 10 s. */
async function until(done: () => boolean): Promise<void> {
  for (const t0 = Date.now(); !done(); await new Promise(r => setTimeout(r, 10)))
    if (Date.now() - t0 > 10_000) throw new Error('timed out');
}

let server: http.Server;
let port = 0;
const asked: string[] = [];
const started = Date.now();

beforeAll(async () => {
  server = http.createServer((req, res) => {
    asked.push(`${req.headers.authorization} ${req.url}`);
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ connections: 0, kernels: 0, last_activity: new Date(started).toISOString() }));
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => server.close());

it('warns, then stops an idle Lab with end reason idle; a profile with idleMinutes 0 is left alone', async () => {
  const entries: string[] = [];
  const logger = createLogger({ level: 'info', write: e => entries.push(e) });
  const poller = new FakePoller();
  const cancels: string[] = [];
  const transport = {
    cluster: 'c',
    exec: async () => ({ code: 0, signal: null, stdout: '/home/u', stderr: '' }),
    readFile: async () => Buffer.from(''),
    openStream: async () => net.connect(port, '127.0.0.1'),
    close: async () => undefined
  } as unknown as Transport;
  const scheduler = {
    cancel: async (jobId: string) => void cancels.push(jobId),
    queuePosition: async () => null
  } as unknown as Scheduler;
  const saved: SessionRecord[][] = [];
  const store = {
    load: async () => [runningRecord('idle1idle', 'idle'), runningRecord('busy1busy', 'never')],
    save: async (records: SessionRecord[]) => void saved.push(JSON.parse(JSON.stringify(records)))
  } as unknown as SessionStore;
  const manager = new SessionManager({
    config: CONFIG,
    clusters: () => ({ transport, scheduler, poller: poller as unknown as ClusterPoller }),
    store,
    logger: logger.child('sessions'),
    idleMinuteMs: MINUTE_MS
  });
  const events: SessionEvent[] = [];
  manager.subscribe(e => events.push(e));
  try {
    await manager.start();
    await until(() => cancels.length > 0);
    expect(events.filter(e => e.type === 'idle-warning')).toEqual([
      { type: 'idle-warning', sessionId: 'idle1idle', minutesLeft: 1, stopsAt: expect.any(String), idleMinutes: 2 }
    ]);
    expect(
      entries.some(e => / INFO sessions: session idle1idle: idle; stops in 1 min \(at \S+\) unless it is used/.test(e))
    ).toBe(true);
    expect(cancels).toEqual(['42']);
    expect(manager.get('idle1idle')?.state).toBe('ending');
    expect(asked[0]).toBe('token tok /hpclab/node/idle1idle/api/status?no_track_activity=1');
    expect(asked.every(a => a.includes('idle1idle'))).toBe(true);

    poller.emit('jobs', { data: [job('42', 'CANCELLED'), job('43', 'RUNNING')], fetchedAt: new Date() });
    await until(() => manager.get('idle1idle')?.state === 'ended');
    expect(manager.get('idle1idle')).toMatchObject({
      state: 'ended',
      endReason: 'idle',
      message: 'Stopped after 2 idle minutes.'
    });
    // What listeners and the store saw of the end: idle too, never cancelled first.
    const ends = events.flatMap(e =>
      e.type === 'session' && e.session.id === 'idle1idle' ? [e.session.endReason] : []
    );
    expect(ends.filter(r => r !== null)).toEqual(['idle']);
    expect(saved.at(-1)?.find(r => r.info.id === 'idle1idle')?.info.endReason).toBe('idle');

    // The user's own stop still ends as cancelled.
    await manager.stop('busy1busy');
    poller.emit('jobs', { data: [job('43', 'CANCELLED')], fetchedAt: new Date() });
    await until(() => manager.get('busy1busy')?.state === 'ended');
    expect(manager.get('busy1busy')).toMatchObject({ state: 'ended', endReason: 'cancelled' });
  } finally {
    manager.close();
  }
});
