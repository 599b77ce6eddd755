import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Duplex } from 'node:stream';
import WebSocket from 'ws';
import type { ClusterRegistry } from '../../server/app';
import { createLogger } from '../../server/log';
import { SessionManager } from '../../server/sessions/manager';
import { SessionStore } from '../../server/sessions/store';
import type { ProxyTarget, SessionEvent, SessionInfo } from '../../server/sessions/types';
import { eventSchemas } from '../../src/contract';
import { registry, testbedConfig } from '../support/clusters';
import { waitFor } from '../support/testbed';
import { labRequest } from '../support/lab-http';

/*
 * Idle Labs on the real testbed: Lab sessions of profiles with `idleMinutes`, in a
 * session manager whose idle "minute" lasts MINUTE_MS (the test-only knob; `hpclab serve` reads
 * it from HPCLAB_IDLE_MINUTE_MS). The one nobody uses is warned (an event and a log line with
 * its id), then stopped and ends with reason `idle`; one running a long cell (its profile's
 * limit a little longer, so it cannot go before the test has made it busy) is left alone.
 * Each Lab's activity is read from its own Jupyter server (/api/status, /api/kernels) through
 * the session's relay, as in production.
 */

const MINUTE_MS = 4000;
const IDLE_MINUTES = 2;
/** The busy Lab's limit: long enough that it cannot be stopped before the test makes it busy. */
const BUSY_IDLE_MINUTES = 4;

describe('idle Lab sessions', () => {
  let clusters: ClusterRegistry;
  let manager: SessionManager;
  const events: SessionEvent[] = [];
  const log: string[] = [];
  const mine: SessionInfo[] = [];

  beforeAll(async () => {
    const config = await testbedConfig();
    config.profiles!.idle = { ...config.profiles!.cpu, idleMinutes: IDLE_MINUTES };
    config.profiles!.idle4 = { ...config.profiles!.cpu, idleMinutes: BUSY_IDLE_MINUTES };
    clusters = await registry(config);
    const stateDir = await fs.mkdtemp(path.join(os.tmpdir(), 'hpclab-idle-'));
    manager = new SessionManager({
      config,
      clusters: name => clusters.get(name),
      store: new SessionStore(path.join(stateDir, 'sessions.json')),
      logger: createLogger({ level: 'info', write: entry => log.push(entry) }).child('sessions'),
      idleMinuteMs: MINUTE_MS
    });
    manager.subscribe(e => events.push(e));
    await manager.start();
  });

  afterAll(async () => {
    // Only this file's jobs: other tests may share the testbed.
    for (const s of mine) if (s.jobId) execFileSync('scancel', [s.jobId]);
    manager?.close();
    await clusters?.close();
  });

  const running = (id: string) =>
    waitFor(
      `session ${id} to run`,
      async () => {
        const s = manager.get(id);
        if (s && ['ended', 'failed'].includes(s.state)) throw new Error(`session ${id} ${s.state}: ${s.message}`);
        return s?.state === 'running' ? s : undefined;
      },
      90_000,
      250
    );

  it('warns an idle Lab, then stops it with reason idle, while a Lab with a busy kernel keeps running', async () => {
    const idle = await manager.create({ kind: 'lab', profile: 'idle' });
    const busy = await manager.create({ kind: 'lab', profile: 'idle4' });
    mine.push(idle, busy);
    await Promise.all([running(idle.id), running(busy.id)]);

    // Make the second one busy at once: a kernel running a long cell.
    const target = manager.proxyLookup(busy.id) as ProxyTarget;
    const kernel = JSON.parse(
      await labRequest(await target.connect(), 'POST', `${busy.baseUrl}api/kernels`, target.token)
    );
    const ws = await openChannels(
      await target.connect(),
      `${busy.baseUrl}api/kernels/${kernel.id}/channels`,
      target.token
    );
    try {
      const busySince = await execute(ws, 'import time\ntime.sleep(600)');
      const eventsBeforeBusy = events.length;

      // The idle one: warned first, with the time left; then stopped, ending as idle.
      const warning = await waitFor(
        'an idle warning for the unused Lab',
        async () => events.find(e => e.type === 'idle-warning' && e.sessionId === idle.id),
        IDLE_MINUTES * MINUTE_MS * 3
      );
      expect(eventSchemas['idle-warning'].parse(warning)).toEqual(warning);
      expect(warning).toMatchObject({ idleMinutes: IDLE_MINUTES, minutesLeft: expect.any(Number) });
      expect(log.some(l => l.includes(`session ${idle.id}: idle; stops in`))).toBe(true);
      const ended = await waitFor(
        'the idle Lab to end',
        async () => {
          const s = manager.get(idle.id);
          return s && ['ended', 'failed'].includes(s.state) ? s : undefined;
        },
        60_000,
        250
      );
      expect(ended).toMatchObject({
        state: 'ended',
        endReason: 'idle',
        message: `Stopped after ${IDLE_MINUTES} idle minutes.`
      });
      const warnedAt = events.indexOf(warning);
      const endedAt = events.findIndex(
        e => e.type === 'session' && e.session.id === idle.id && e.session.state === 'ended'
      );
      expect(warnedAt).toBeLessThan(endedAt);

      // The busy one, well past the idle limit and its warning: not warned since it turned busy, still running.
      const waitUntil = busySince + 1.5 * BUSY_IDLE_MINUTES * MINUTE_MS;
      await new Promise(r => setTimeout(r, Math.max(0, waitUntil - Date.now())));
      const after = manager.get(busy.id);
      if (after?.state !== 'running')
        throw new Error(`the busy Lab ${after?.state}: ${after?.endReason} ${after?.message}\n${log.join('')}`);
      const warnedBusy = events
        .slice(eventsBeforeBusy)
        .filter(e => e.type === 'idle-warning' && e.sessionId === busy.id);
      expect(warnedBusy).toEqual([]);
      expect(log.some(l => l.includes(`session ${busy.id}: idle for`))).toBe(false);
    } finally {
      ws.close();
      await manager.stop(busy.id);
    }
  }, 240_000);
});

function openChannels(stream: Duplex, pathname: string, token: string): Promise<WebSocket> {
  const ws = new WebSocket(`ws://hpclab-node${pathname}`, {
    createConnection: (() => stream) as never,
    headers: { Authorization: `token ${token}` }
  });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

/** Sends an execute_request; resolves (with the time) once the kernel says it is busy with it. */
function execute(ws: WebSocket, code: string): Promise<number> {
  const msgId = `idle-test-${Date.now()}`;
  const busy = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the kernel never turned busy')), 60_000);
    ws.on('message', raw => {
      const msg = JSON.parse(raw.toString());
      if (msg.parent_header?.msg_id === msgId && msg.msg_type === 'status' && msg.content.execution_state === 'busy') {
        clearTimeout(timer);
        resolve(Date.now());
      }
    });
  });
  ws.send(
    JSON.stringify({
      header: {
        msg_id: msgId,
        username: 'test',
        session: msgId,
        msg_type: 'execute_request',
        version: '5.3',
        date: new Date().toISOString()
      },
      parent_header: {},
      metadata: {},
      content: {
        code,
        silent: false,
        store_history: false,
        user_expressions: {},
        allow_stdin: false,
        stop_on_error: true
      },
      buffers: [],
      channel: 'shell'
    })
  );
  return busy;
}
