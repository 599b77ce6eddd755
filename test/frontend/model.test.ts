import { HpclabApi } from '../../src/api';
import { HpclabModel } from '../../src/model';
import { groupJobs, hms, pendingText } from '../../src/format';
import type { LiveEvent } from '../../src/tokens';
import { english } from '../../src/translate';
import packageJson from '../../package.json';
import { API_VERSION, EXTENSION_VERSION } from '../../src/version';
import { reply, sessionBase } from './fixtures';

const base = sessionBase;

function model(answers: Record<string, unknown> = {}) {
  const defaults: Record<string, unknown> = {
    '/hpclab/api/version': { version: EXTENSION_VERSION, api: API_VERSION },
    '/hpclab/api/clusters': ['testbed'],
    '/hpclab/api/profiles': [{ name: 'gpu', cluster: 'testbed' }],
    '/hpclab/api/sessions': [],
    '/hpclab/api/kernelspecs': [],
    '/hpclab/api/clusters/testbed/status': { cluster: 'testbed', fetchedAt: 'now', partitions: [], jobs: [] },
    '/hpclab/api/clusters/testbed/runs': { runs: [], problems: [] }
  };
  let calls = 0;
  const fetchImpl = (async (url: string) => {
    calls++;
    const body = { ...defaults, ...answers }[new URL(url).pathname];
    return reply(body === undefined ? 404 : 200, JSON.stringify(body));
  }) as unknown as typeof fetch;
  const m = new HpclabModel(new HpclabApi('', fetchImpl), 15);
  return { m, calls: () => calls };
}

test("runs that cannot be read are the runs' problem, not the sidebar's error", async () => {
  const { m } = model({ '/hpclab/api/clusters/testbed/runs': undefined });
  await m.refresh();
  expect(m.error).toBeNull();
  expect(m.runs.get('testbed')).toEqual({ runs: [], problems: [expect.stringMatching(/404/)] });
});

test('refresh fills the model and `changed` fires only on a real change', async () => {
  const { m } = model();
  let changes = 0;
  m.changed.connect(() => changes++);
  await m.refresh();
  expect(m.clusters).toEqual(['testbed']);
  expect(m.profiles.map(p => p.name)).toEqual(['gpu']);
  expect(changes).toBe(1);
  await m.refresh();
  expect(changes).toBe(1); // same answers: no redraw
});

test('a failed refresh keeps the words for the UI and rethrows for the poll to back off', async () => {
  const { m } = model({ '/hpclab/api/clusters': undefined });
  await expect(m.refresh()).rejects.toThrow();
  expect(m.error).toContain('404');
  expect(m.loaded).toBe(true);
});

test('session events update the list and are passed on with the previous state', async () => {
  const { m } = model();
  const seen: LiveEvent[] = [];
  m.events.connect((_s, e) => seen.push(e));
  m.handleEvent('snapshot', { type: 'snapshot', sessions: [{ ...base, id: 's1', state: 'pending' }] });
  m.handleEvent('session', {
    type: 'session',
    session: { ...base, id: 's1', state: 'running', endsAt: new Date(Date.now() + 60_000).toISOString() }
  });
  expect(m.sessions.map(s => s.state)).toEqual(['running']);
  expect(seen[0]).toMatchObject({ type: 'session', previous: { state: 'pending' }, session: { state: 'running' } });
  expect(m.nearestEnding()?.id).toBe('s1');
  m.handleEvent('walltime-warning', { type: 'walltime-warning', sessionId: 's1', minutesLeft: 2, endsAt: 'x' });
  expect(seen[1]).toMatchObject({ type: 'walltime-warning', minutesLeft: 2, session: { id: 's1' } });
  m.handleEvent('session', { nonsense: true }); // a frame of another version is ignored
  expect(m.sessions).toHaveLength(1);
});

test("link events keep each cluster's connection state and are passed on", () => {
  const { m } = model();
  const seen: LiveEvent[] = [];
  let changes = 0;
  m.events.connect((_s, e) => seen.push(e));
  m.changed.connect(() => changes++);
  const link = {
    type: 'link',
    cluster: 'testbed',
    state: 'reconnecting',
    message: 'connection reset',
    retryInMs: 1000
  };
  m.handleEvent('link', link);
  expect(m.links.get('testbed')).toEqual(link);
  expect(seen).toEqual([{ type: 'link', link }]);
  expect(changes).toBe(1);
  m.handleEvent('link', { ...link, state: 'sideways' }); // not a state this release knows: ignored
  expect(m.links.get('testbed')?.state).toBe('reconnecting');
});

test('the poll interval never goes below the floor', () => {
  const { m } = model();
  m.start();
  m.setInterval(1);
  expect((m as unknown as { poll: { frequency: { interval: number } } }).poll.frequency.interval).toBe(5000);
  m.dispose();
});

test('settings: applied once per real change, the poll interval follows with its floor', () => {
  const { m } = model();
  const seen: unknown[] = [];
  m.settingsChanged.connect((_m, s) => seen.push(s));
  m.start();
  m.applySettings({ pollIntervalSec: 2, warnMinutes: [5] });
  m.applySettings({ pollIntervalSec: 2, warnMinutes: [5] });
  expect(seen).toHaveLength(1);
  expect(m.settings).toMatchObject({ pollIntervalSec: 2, warnMinutes: [5], companionUrl: '' }); // the rest from the defaults
  expect((m as unknown as { poll: { frequency: { interval: number } } }).poll.frequency.interval).toBe(5000);
  m.dispose();
});

test('a dismissed session is remembered and `changed` fires for it', () => {
  const { m } = model();
  m.handleEvent('snapshot', { type: 'snapshot', sessions: [{ ...base, id: 's1', state: 'ended' }] });
  let changes = 0;
  m.changed.connect(() => changes++);
  m.dismiss('s1');
  m.dismiss('s1');
  expect([...m.dismissed]).toEqual(['s1']);
  expect(changes).toBe(1);
});

test('formatting: countdowns, queue words and array grouping', () => {
  expect(hms(3725)).toBe('1:02:05');
  expect(hms(2 * 86400 + 60)).toBe('2-00:01:00');
  expect(
    pendingText(
      { ...base, id: 'x', state: 'pending', pending: { reason: 'Resources', position: 3, estimatedStart: null } },
      english
    )
  ).toBe('Resources, #3 in the queue');
  const job = (id: string, arrayJobId: string | null) => ({
    id,
    arrayJobId,
    arrayTaskId: null,
    name: 'j',
    user: 'u',
    state: 'PENDING',
    reason: null,
    partition: 'p',
    nodes: null,
    numNodes: 1,
    numCpus: 1,
    timeUsed: 0,
    timeLimit: null,
    timeLeft: null,
    submitTime: null,
    startTime: null,
    gres: null
  });
  expect(groupJobs([job('10_1', '10'), job('10_2', '10'), job('11', null)]).map(g => [g.key, g.jobs.length])).toEqual([
    ['10', 2],
    ['11', 1]
  ]);
});

describe('the companion of another release', () => {
  test('same release: no problem, and the version is asked once', async () => {
    const { m, calls } = model();
    await m.refresh();
    expect(m.versionProblem).toBeNull();
    const after = calls();
    await m.refresh();
    expect(calls() - after).toBe(6); // clusters, profiles, sessions, kernelspecs, status, runs: not the version again
  });

  test('another version of the same API: said plainly, both versions named', async () => {
    const { m } = model({ '/hpclab/api/version': { version: '9.9.9', api: API_VERSION } });
    await m.refresh();
    expect(m.versionProblem).toContain('different releases');
    expect(m.versionProblem).toContain('9.9.9');
    expect(m.versionProblem).toContain(EXTENSION_VERSION);
  });

  test('another API: cannot work together, said so', async () => {
    const { m } = model({ '/hpclab/api/version': { version: '9.9.9', api: API_VERSION + 1 } });
    await m.refresh();
    expect(m.versionProblem).toContain('cannot work with companion 9.9.9');
  });

  test('a companion without the route (older release): said so, and the rest still loads', async () => {
    const { m } = model({ '/hpclab/api/version': undefined });
    await m.refresh();
    expect(m.versionProblem).toContain('older release');
    expect(m.clusters).toEqual(['testbed']);
  });

  test("the extension's version is package.json's", () => {
    expect(EXTENSION_VERSION).toBe(packageJson.version);
  });
});

test('with a locator, the model finds the companion first, and again once it stops answering', async () => {
  let located = 0;
  let alive = true;
  const fetchImpl = (async (url: string) => {
    if (!alive) throw new TypeError('Failed to fetch');
    const path = new URL(url).pathname;
    const answers: Record<string, unknown> = {
      '/hpclab/api/clusters': [],
      '/hpclab/api/profiles': [],
      '/hpclab/api/sessions': [],
      '/hpclab/api/kernelspecs': [],
      '/hpclab/api/version': { version: EXTENSION_VERSION, api: API_VERSION }
    };
    return reply(path in answers ? 200 : 404, JSON.stringify(answers[path]));
  }) as unknown as typeof fetch;
  const m = new HpclabModel(new HpclabApi('', fetchImpl), 15);
  m.useLocator(async () => {
    located++;
    return { api: new HpclabApi(`http://127.0.0.1:${4000 + located}/?token=t${located}`, fetchImpl) };
  });
  await m.refresh();
  expect(located).toBe(1);
  expect(m.api.base).toBe('http://127.0.0.1:4001/hpclab/');
  await m.refresh();
  expect(located).toBe(1); // found: not asked again
  alive = false;
  await expect(m.refresh()).rejects.toThrow(/not answering/);
  alive = true;
  await m.refresh();
  expect(located).toBe(2);
  expect(m.api.base).toBe('http://127.0.0.1:4002/hpclab/');
  expect(m.error).toBeNull();
});

test("a locator's problem is the model's error, in its words", async () => {
  const m = new HpclabModel(new HpclabApi('', (async () => reply(404, '')) as unknown as typeof fetch), 15);
  m.useLocator(async () => ({ api: m.api, problem: 'hpclab needs Node.js 20 or newer on PATH' }));
  await expect(m.refresh()).rejects.toThrow('Node.js 20');
  expect(m.error).toBe('hpclab needs Node.js 20 or newer on PATH');
  expect(m.loaded).toBe(true);
});
