import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../../server/log';
import { getOverStream, LabIdle, readLabActivity, type LabReply } from '../../../server/sessions/lab-idle';

const MIN = 60_000;

/** A Lab's jupyter_server as /api/status and /api/kernels answer (1.x and 2.x alike). */
function lab(clock: () => number) {
  const state = { lastActivity: 0, kernels: [] as { execution_state: string }[], fail: false };
  const requests: string[] = [];
  const get = async (path: string): Promise<LabReply> => {
    requests.push(path);
    if (state.fail) throw new Error('the relay is down');
    const date = new Date(clock()).toUTCString();
    if (path.startsWith('api/status'))
      return {
        status: 200,
        date,
        body: JSON.stringify({
          connections: 0,
          kernels: state.kernels.length,
          last_activity: new Date(state.lastActivity).toISOString().replace('Z', '123Z'),
          started: new Date(0).toISOString()
        })
      };
    return { status: 200, date, body: JSON.stringify(state.kernels.map((k, i) => ({ id: `k${i}`, ...k }))) };
  };
  return { state, requests, get };
}

function logger(lines: string[]): Logger {
  const log =
    (level: string) =>
    (message: string, err?: unknown): void => {
      lines.push(`${level} ${message}${err ? `: ${(err as Error).message}` : ''}`);
    };
  return { error: log('error'), warn: log('warn'), info: log('info'), debug: log('debug'), child: () => logger(lines) };
}

describe('readLabActivity', () => {
  it('times last_activity by the Lab node’s clock and counts busy kernels', async () => {
    const { state, get, requests } = lab(() => 10 * MIN);
    state.lastActivity = 4 * MIN;
    // Our clock is an hour off: the node's Date header is what counts.
    expect(await readLabActivity(get, () => 70 * MIN)).toEqual({
      lastActivity: expect.stringMatching(/T00:04:00/),
      idleForMs: 6 * MIN,
      busyKernels: 0
    });
    expect(requests).toEqual(['api/status?no_track_activity=1']); // no kernels: nothing more to ask
    state.kernels = [{ execution_state: 'idle' }, { execution_state: 'busy' }];
    expect((await readLabActivity(get)).busyKernels).toBe(1);
    expect(requests[2]).toBe('api/kernels?no_track_activity=1');
    // A kernel the server still calls `starting` may be running a long first cell it never saw begin.
    state.kernels = [{ execution_state: 'starting' }, { execution_state: 'idle' }, { execution_state: 'dead' }];
    expect((await readLabActivity(get)).busyKernels).toBe(1);
  });

  it('says what is wrong with an answer it cannot use', async () => {
    const answer = (reply: LabReply) => readLabActivity(async () => reply);
    await expect(answer({ status: 403, body: '', date: undefined })).rejects.toThrow(/api\/status answered HTTP 403/);
    await expect(answer({ status: 200, body: '<html>', date: undefined })).rejects.toThrow(/did not answer JSON/);
    await expect(answer({ status: 200, body: '{"kernels":0}', date: undefined })).rejects.toThrow(/no last_activity/);
  });
});

describe('LabIdle', () => {
  beforeEach(() => jest.useFakeTimers({ now: 0 }));
  afterEach(() => jest.useRealTimers());

  function watch(idleMinutes = 10) {
    const server = lab(() => Date.now());
    const events: string[] = [];
    const lines: string[] = [];
    const idle = new LabIdle({
      sessionId: 's1',
      idleMinutes,
      minuteMs: MIN,
      get: server.get,
      logger: logger(lines),
      warn: (m, stopsAt) => events.push(`warn ${m} at ${Date.now() / MIN}, stops at ${stopsAt / MIN}`),
      release: async () => {
        events.push(`stop at ${Date.now() / MIN}`);
      }
    });
    return { idle, events, lines, server };
  }
  const minutes = (n: number) => jest.advanceTimersByTimeAsync(n * MIN);

  it('warns, then stops a Lab that stays idle', async () => {
    const { idle, events } = watch();
    idle.start();
    await minutes(4.99);
    expect(events).toEqual([]);
    await minutes(0.02);
    expect(events).toEqual(['warn 5 at 5, stops at 10']);
    await minutes(5);
    expect(events).toEqual(['warn 5 at 5, stops at 10', 'stop at 10']);
    await minutes(60);
    expect(events).toHaveLength(2);
  });

  it('does not stop a Lab with a busy kernel, even with old last_activity', async () => {
    const { idle, events, server } = watch();
    server.state.kernels = [{ execution_state: 'busy' }];
    idle.start();
    await minutes(120);
    expect(events).toEqual([]);
  });

  it('calls the stop off when the Lab is used after the warning', async () => {
    const { idle, events, lines, server } = watch();
    idle.start();
    await minutes(6);
    server.state.lastActivity = Date.now(); // someone opened a notebook
    await minutes(4.9);
    expect(events).toEqual(['warn 5 at 5, stops at 10']);
    expect(lines).toContain('info session s1: in use again; the idle stop is off');
    await minutes(0.2);
    expect(events.slice(1)).toEqual(['warn 5 at 11, stops at 16']);
  });

  it('keeps one idle spell across answers (the Date header only has seconds)', async () => {
    const { idle, events, lines, server } = watch();
    server.state.lastActivity = 0.2 * 1000; // 200 ms past the second the Date header rounds to
    idle.start();
    await minutes(12);
    expect(events).toEqual(['warn 5 at 5, stops at 10', 'stop at 10']);
    expect(lines.filter(l => l.includes('in use again'))).toEqual([]);
  });

  it('neither stops nor forgets a Lab it cannot ask, and logs that once', async () => {
    const { idle, events, lines, server } = watch();
    server.state.fail = true;
    idle.start();
    await minutes(30);
    expect(events).toEqual([]);
    expect(lines.filter(l => l.startsWith('warn'))).toEqual([
      'warn session s1: cannot ask its server whether it is idle; it is not stopped for idleness meanwhile: the relay is down'
    ]);
    server.state.fail = false;
    await minutes(1);
    expect(events).toEqual([expect.stringMatching(/^warn \d+ at 31/)]);
    expect(lines.some(l => l.includes('answers about its activity again'))).toBe(true);
  });

  it('stops asking on stop()', async () => {
    const { idle, events, server } = watch();
    idle.start();
    await minutes(1);
    idle.stop();
    const asked = server.requests.length;
    await minutes(60);
    expect(server.requests.length).toBe(asked);
    expect(events).toEqual([]);
  });
});

describe('getOverStream', () => {
  it('GETs with the Lab token over a given stream and returns the Date header', async () => {
    const seen: http.IncomingHttpHeaders[] = [];
    const server = http.createServer((req, res) => {
      seen.push(req.headers);
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ url: req.url }));
    });
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const socket = net.connect(port, '127.0.0.1');
      const reply = await getOverStream(socket, '/hpclab/node/s1/api/status', 'tok');
      expect(reply.status).toBe(200);
      expect(JSON.parse(reply.body)).toEqual({ url: '/hpclab/node/s1/api/status' });
      expect(Date.parse(reply.date!)).toBeGreaterThan(0);
      expect(seen[0].authorization).toBe('token tok');
      const big = net.connect(port, '127.0.0.1');
      await expect(getOverStream(big, '/x', 'tok', { maxBytes: 5 })).rejects.toThrow(/more than 5 bytes/);
    } finally {
      server.close();
    }
  });
});
