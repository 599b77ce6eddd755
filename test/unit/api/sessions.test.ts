import { SessionNotFoundError } from '../../../server/api/services';
import { jsonHeaders, sessionInfo, startHarness, type Harness } from './harness';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
  h.sessions.sessions.set('abc123', sessionInfo('abc123'));
});
afterEach(() => h.close());

const post = (body: unknown, headers: Record<string, string> = {}) =>
  h.request('POST', '/hpclab/api/sessions', {
    headers: { ...jsonHeaders, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body)
  });

describe('GET', () => {
  test('list, one, and 404 for an unknown one', async () => {
    expect((await h.request('GET', '/hpclab/api/sessions')).json).toEqual([sessionInfo('abc123')]);
    const one = await h.request('GET', '/hpclab/api/sessions/abc123');
    expect(one.json).toEqual(sessionInfo('abc123'));
    expect(one.headers['cache-control']).toBe('no-store');
    const missing = await h.request('GET', '/hpclab/api/sessions/zzz999');
    expect(missing.status).toBe(404);
    expect(missing.json.error).toEqual({ code: 'not-found', message: 'no session zzz999' });
  });

  test.each(['ABC123', 'abc', 'a'.repeat(33), 'abc-123', '..%2F..%2Fetc'])(
    'a bad session id (%s) is 400 naming id',
    async id => {
      const reply = await h.request('GET', `/hpclab/api/sessions/${id}`);
      expect(reply.status).toBe(400);
      expect(reply.json.error.code).toBe('invalid');
      expect(reply.json.error.fields).toEqual([
        { path: 'id', message: expect.stringContaining('expected a session id') }
      ]);
      expect(reply.json.error.message).toMatch(/^id: /);
    }
  );
});

describe('POST', () => {
  test('creates with the validated request; 201 with Location', async () => {
    const reply = await post({
      kind: 'lab',
      profile: 'gpu',
      cluster: 'testbed',
      overrides: { time: '02:00:00', cpus: 4, gres: 'gpu:a100:1' }
    });
    expect(reply.status).toBe(201);
    expect(reply.headers.location).toBe(`/hpclab/api/sessions/${reply.json.id}`);
    expect(h.sessions.created).toEqual([
      { kind: 'lab', profile: 'gpu', cluster: 'testbed', overrides: { time: '02:00:00', cpus: 4, gres: 'gpu:a100:1' } }
    ]);
  });

  test('Idempotency-Key header becomes idempotencyKey; a conflicting body key is 400', async () => {
    expect((await post({ kind: 'lab', profile: 'gpu' }, { 'Idempotency-Key': 'k-1' })).status).toBe(201);
    expect(h.sessions.created[0].idempotencyKey).toBe('k-1');
    expect(
      (await post({ kind: 'lab', profile: 'gpu', idempotencyKey: 'k-1' }, { 'Idempotency-Key': 'k-1' })).status
    ).toBe(201);
    const conflict = await post({ kind: 'lab', profile: 'gpu', idempotencyKey: 'k-2' }, { 'Idempotency-Key': 'k-1' });
    expect(conflict.status).toBe(400);
    expect(conflict.json.error.fields[0].path).toBe('idempotencyKey');
    const bad = await post({ kind: 'lab', profile: 'gpu' }, { 'Idempotency-Key': 'has space' });
    expect(bad.json.error.fields[0].path).toBe('Idempotency-Key');
  });

  test('unknown keys are 400 naming each, with the allowed keys', async () => {
    const reply = await post({ kind: 'lab', profile: 'gpu', partiton: 'gpu', overrides: { walltime: '1:00:00' } });
    expect(reply.status).toBe(400);
    expect(reply.json.error.fields).toHaveLength(2);
    expect(reply.json.error.fields).toEqual(
      expect.arrayContaining([
        {
          path: 'partiton',
          message: expect.stringMatching(
            /^unknown key "partiton" \(allowed: kind, profile, cluster, overrides, idempotencyKey\)$/
          )
        },
        {
          path: 'overrides.walltime',
          message: expect.stringMatching(/^unknown key "walltime" \(allowed: partition, time, cpus/)
        }
      ])
    );
    expect(reply.json.error.message).toContain('partiton');
    expect(h.sessions.created).toEqual([]);
  });

  test('bad values name the field and say what was expected', async () => {
    const reply = await post({ kind: 'kernel', profile: '-x', overrides: { cpus: 0, time: '2 hours', mem: 4 } });
    expect(reply.status).toBe(400);
    const byPath = Object.fromEntries(
      reply.json.error.fields.map((f: { path: string; message: string }) => [f.path, f.message])
    );
    expect(Object.keys(byPath).sort()).toEqual([
      'kind',
      'overrides.cpus',
      'overrides.mem',
      'overrides.time',
      'profile'
    ]);
    expect(byPath.kind).toBe('expected "lab" (JupyterLab on a node) or "alloc" (hold a node), got "kernel"');
    expect(byPath['overrides.cpus']).toMatch(/^expected a whole number of CPUs from 1 to 10000, got 0$/);
    expect(byPath['overrides.time']).toMatch(/^expected a Slurm time limit/);
    expect(reply.json.error.message).toMatch(/overrides\.cpus: expected/);
  });

  test('a missing profile says missing', async () => {
    const reply = await post({ kind: 'lab' });
    expect(reply.json.error.fields).toEqual([
      { path: 'profile', message: expect.stringMatching(/^missing: expected a name/) }
    ]);
  });

  test.each([
    ['malformed JSON', '{"kind": "lab",', jsonHeaders],
    ['a JSON array', '[1]', jsonHeaders],
    ['no content type', '{"kind":"lab","profile":"gpu"}', {}]
  ])('%s is 400 naming body', async (_name, body, headers) => {
    const reply = await h.request('POST', '/hpclab/api/sessions', { body, headers });
    expect(reply.status).toBe(400);
    expect(reply.json.error.code).toBe('invalid');
    expect(reply.json.error.fields[0].path).toBe('body');
  });

  test('a body over 64 KiB is 413', async () => {
    const body = JSON.stringify({ kind: 'lab', profile: 'gpu', pad: 'x'.repeat(70 * 1024) });
    const reply = await post(body);
    expect(reply.status).toBe(413);
    expect(reply.json.error.code).toBe('too-large');
  });

  test('service errors go through the one map', async () => {
    h.sessions.failWith = new Error('disk on fire at /home/me/secret');
    const reply = await post({ kind: 'lab', profile: 'gpu' });
    expect(reply.status).toBe(500);
    expect(reply.json.error.code).toBe('internal');
    expect(reply.text).not.toContain('secret');
    expect(h.logged).toEqual([h.sessions.failWith]);
  });
});

describe('DELETE', () => {
  test('stops and returns the session; unknown is 404', async () => {
    const reply = await h.request('DELETE', '/hpclab/api/sessions/abc123');
    expect(reply.status).toBe(200);
    expect(reply.json.state).toBe('ending');
    expect((await h.request('DELETE', '/hpclab/api/sessions/zzz999')).status).toBe(404);
  });

  test('SessionNotFoundError from the service (a race with removal) is 404', async () => {
    h.sessions.stop = async id => {
      throw new SessionNotFoundError(id);
    };
    expect((await h.request('DELETE', '/hpclab/api/sessions/abc123')).status).toBe(404);
  });
});

describe('log', () => {
  test('text/plain, default tail 64 KiB', async () => {
    const reply = await h.request('GET', '/hpclab/api/sessions/abc123/log');
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(reply.text).toBe('line 1\nline 2\n');
    expect(h.sessions.logCalls).toEqual([{ id: 'abc123', tailBytes: 65536 }]);
  });

  test('tail=N up to 1 MiB', async () => {
    expect((await h.request('GET', '/hpclab/api/sessions/abc123/log?tail=7')).text).toBe('line 2\n');
    expect((await h.request('GET', '/hpclab/api/sessions/abc123/log?tail=1048576')).status).toBe(200);
    expect(h.sessions.logCalls.map(c => c.tailBytes)).toEqual([7, 1048576]);
  });

  test.each(['1048577', '-1', 'abc', '1e3', '1&tail=2', ''])('tail=%s is 400 naming tail', async tail => {
    const reply = await h.request('GET', `/hpclab/api/sessions/abc123/log?tail=${tail}`);
    expect(reply.status).toBe(400);
    expect(reply.json.error.fields[0].path).toBe('tail');
  });

  test('unknown session is 404', async () => {
    expect((await h.request('GET', '/hpclab/api/sessions/zzz999/log')).status).toBe(404);
    expect((await h.request('GET', '/hpclab/api/sessions/zzz999/log?follow=1')).status).toBe(404);
  });

  test('follow=1 streams the tail, then what the job appends, and ends with the session', async () => {
    const reply = h.request('GET', '/hpclab/api/sessions/abc123/log?tail=7&follow=1');
    await new Promise(r => setTimeout(r, 300));
    h.sessions.log += 'line 3\n';
    h.sessions.sessions.set('abc123', { ...h.sessions.sessions.get('abc123')!, state: 'ended' });
    const done = await reply;
    expect(done.status).toBe(200);
    expect(done.text).toBe('line 2\nline 3\n');
  });

  test('follow=maybe is 400 naming follow', async () => {
    const reply = await h.request('GET', '/hpclab/api/sessions/abc123/log?follow=maybe');
    expect(reply.status).toBe(400);
    expect(reply.json.error.fields[0].path).toBe('follow');
  });
});

describe('POST /api/sessions/preview', () => {
  test('validates like POST and submits nothing; a bad override names its field', async () => {
    const h = await startHarness();
    try {
      const ok = await h.request('POST', '/hpclab/api/sessions/preview', {
        headers: jsonHeaders,
        body: JSON.stringify({ kind: 'lab', profile: 'gpu', overrides: { time: '02:00:00' } })
      });
      expect(ok.status).toBe(200);
      expect(ok.json.argv[0]).toBe('sbatch');
      const bad = await h.request('POST', '/hpclab/api/sessions/preview', {
        headers: jsonHeaders,
        body: JSON.stringify({ kind: 'lab', profile: 'gpu', overrides: { time: 'soon' } })
      });
      expect(bad.status).toBe(400);
      expect(bad.json.error.fields).toEqual([{ path: 'overrides.time', message: expect.any(String) }]);
      expect(h.sessions.previewed).toHaveLength(1);
      expect(h.sessions.created).toEqual([]);
    } finally {
      await h.close();
    }
  });
});
