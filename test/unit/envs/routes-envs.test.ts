import { configSchema } from '../../../server/config/schema';
import { EnvCreateError, type CreatedEnv, type CreateOptions } from '../../../server/envs/env-creator';
import { planEnv, type EnvPlan } from '../../../server/envs/env-input';
import type { EnvApi } from '../../../server/api/services';
import { envCreateEventSchema } from '../../../src/contract';
import express from 'express';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApi, type ApiDeps } from '../../../server/api/api';
import type { ClusterService, SessionService } from '../../../server/api/services';

const TOKEN = 'test-token-0123456789abcdef';
const jsonHeaders = { 'Content-Type': 'application/json' };

/** The API router alone, on loopback: sessions and clusters are empty stand-ins this route never asks. */
async function startHarness(deps: Partial<ApiDeps> = {}) {
  const sessions = { list: () => [], subscribe: () => () => undefined } as unknown as SessionService;
  const clusters = { names: () => ['hpc'] } as unknown as ClusterService;
  const api = createApi({ sessions, clusters, token: TOKEN, logger: () => undefined, ...deps });
  const app = express();
  app.use('/hpclab', api.router);
  const server = http.createServer(app);
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const request = (method: string, path: string, options: { headers?: Record<string, string>; body?: string }) =>
    new Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string; json: any }>((resolve, reject) => {
      const headers = { Host: `127.0.0.1:${port}`, Authorization: `Bearer ${TOKEN}`, ...options.headers };
      const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent: false }, res => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString('utf8')));
        res.on('end', () => {
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined; // ndjson or empty: the test reads `text`
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      });
      req.on('error', reject);
      req.end(options.body);
    });
  const close = async () => {
    api.close();
    server.closeAllConnections();
    await new Promise<void>(resolve => server.close(() => resolve()));
  };
  return { request, close };
}
type Harness = Awaited<ReturnType<typeof startHarness>>;

const config = configSchema.parse({ clusters: { hpc: { local: true } }, profiles: { gpu: { cluster: 'hpc' } } });

/** Plans as the real creator does; "creates" by replaying a script of progress and an outcome. */
class ScriptedEnvs implements EnvApi {
  created: EnvPlan[] = [];
  outcome: 'done' | 'fail' = 'done';
  plan(request: Parameters<EnvApi['plan']>[0]) {
    return planEnv(config, request);
  }
  async create(plan: EnvPlan, options: CreateOptions): Promise<CreatedEnv> {
    this.created.push(plan);
    options.onProgress?.({ type: 'step', step: 'create', message: `python3 -m venv /home/me/.venvs/${plan.name}` });
    options.onProgress?.({ type: 'output', step: 'create', line: 'made it' });
    if (this.outcome === 'fail')
      throw new EnvCreateError('requirements', 'pip could not install the requirements', [
        'ERROR: No matching distribution found for nope'
      ]);
    return {
      cluster: plan.cluster,
      name: plan.name,
      kind: 'venv',
      path: `/home/me/.venvs/${plan.name}`,
      env: { venv: `/home/me/.venvs/${plan.name}` },
      kernelspec: {
        name: 'hpclab-hpc-gpu-0123abcd',
        displayName: 'Python 3 · venv a · hpc',
        path: '/k',
        created: true
      },
      installedIpykernel: false,
      seconds: 4.2
    };
  }
}

const events = (text: string) =>
  text
    .trim()
    .split('\n')
    .map(line => envCreateEventSchema.parse(JSON.parse(line)));

describe('POST /api/envs', () => {
  let h: Harness;
  let envs: ScriptedEnvs;
  beforeEach(async () => {
    envs = new ScriptedEnvs();
    h = await startHarness({ envs });
  });
  afterEach(() => h.close());

  const post = (body: unknown) =>
    h.request('POST', '/hpclab/api/envs', { headers: jsonHeaders, body: JSON.stringify(body) });

  it('streams each step and line, then the env and its kernelspec, as ndjson the contract parses', async () => {
    const r = await post({ name: 'a', requirements: 'numpy\n' });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^application\/x-ndjson/);
    const all = events(r.text);
    expect(all.map(e => e.type)).toEqual(['step', 'output', 'done']);
    expect(all[2]).toMatchObject({
      type: 'done',
      env: { path: '/home/me/.venvs/a', env: { venv: '/home/me/.venvs/a' } }
    });
    expect(envs.created[0]).toMatchObject({ cluster: 'hpc', profile: 'gpu', requirements: 'numpy\n' });
  });

  it('ends with an error event carrying the tail when a step fails', async () => {
    envs.outcome = 'fail';
    const all = events((await post({ name: 'a' })).text);
    expect(all.at(-1)).toEqual({
      type: 'error',
      message: 'pip could not install the requirements',
      step: 'requirements',
      tail: ['ERROR: No matching distribution found for nope'],
      rolledBack: true
    });
  });

  it.each([
    [{ name: 'my env' }, 'name', /letters, digits/],
    [{ name: 'a', path: '/x/../etc' }, 'path', /without "\." or "\.\." parts/],
    [{ name: 'a', conda: 'yes' }, 'conda', /true or false/],
    [{ name: 'a', shell: 'rm -rf ~' }, 'shell', /unknown key "shell"/],
    [{}, 'name', /missing/]
  ])('refuses %j with a 400 naming the field, running nothing', async (body, field, message) => {
    const r = await post(body);
    expect(r.status).toBe(400);
    expect(r.json.error.fields[0]).toMatchObject({ path: field, message: expect.stringMatching(message) });
    expect(envs.created).toEqual([]);
  });

  it('answers 404 for an unknown profile', async () => {
    expect((await post({ name: 'a', profile: 'nope' })).status).toBe(404);
  });
});

describe('POST /api/envs without an env service', () => {
  it('answers 404 saying so', async () => {
    const h = await startHarness();
    try {
      const r = await h.request('POST', '/hpclab/api/envs', { headers: jsonHeaders, body: '{"name":"a"}' });
      expect(r.status).toBe(404);
      expect(r.json.error.message).toMatch(/cannot make environments/);
    } finally {
      await h.close();
    }
  });
});
