import type { WorkspaceBackup } from '../../../server/workspace/types';
import type { NodeSummary } from '../../../server/scheduler/types';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createApi, type Api, type ApiDeps } from '../../../server/api/api';
import type {
  ClusterService,
  ClusterStatus,
  ClusterHistory,
  CreateSessionRequest,
  JobAction,
  AddKernelRequest,
  KernelAttachRequest,
  KernelAttachService,
  KernelLease,
  KernelspecApi,
  PlannedRun,
  RunApi,
  RunView,
  SessionService,
  SetupApi,
  SubmitRunRequest,
  SubmittedRun
} from '../../../server/api/services';
import { profileSchema } from '../../../server/config/schema';
import { parseManifest, RunNotFoundError } from '../../../server/runs/registry';
import { planSubmit } from '../../../server/runs/run-service';
import type { DiscoveredEnv } from '../../../server/kernels/discovery';
import { KernelspecError, type HpclabKernelspec } from '../../../server/kernels/kernelspec';
import { PromptBroker } from '../../../server/api/prompt-broker';
import { SessionNotFoundError } from '../../../server/api/services';
import type { SessionEvent, SessionInfo } from '../../../server/sessions/types';

/** Real HTTP on 127.0.0.1:0 with in-memory services; the API mounted at /hpclab as app.ts will. */

export const TOKEN = 'test-token-0123456789abcdef';

export function sessionInfo(id: string, over: Partial<SessionInfo> = {}): SessionInfo {
  return {
    id,
    kind: 'lab',
    cluster: 'testbed',
    profile: 'gpu',
    state: 'running',
    jobId: '1234',
    pending: null,
    node: 'c1',
    createdAt: '2025-01-01T00:00:00.000Z',
    startedAt: '2025-01-01T00:00:10.000Z',
    endsAt: '2025-01-01T01:00:10.000Z',
    endedAt: null,
    endReason: null,
    message: null,
    baseUrl: `/hpclab/node/${id}/`,
    access: null,
    ...over
  };
}

export class FakeSessions implements SessionService {
  readonly sessions = new Map<string, SessionInfo>();
  readonly created: CreateSessionRequest[] = [];
  readonly listeners = new Set<(e: SessionEvent) => void>();
  subscribeCalls = 0;
  unsubscribeCalls = 0;
  log = 'line 1\nline 2\n';
  logCalls: { id: string; tailBytes: number }[] = [];
  failWith: unknown;

  list(): SessionInfo[] {
    return [...this.sessions.values()];
  }
  get(id: string): SessionInfo | undefined {
    return this.sessions.get(id);
  }
  async create(req: CreateSessionRequest): Promise<SessionInfo> {
    if (this.failWith) throw this.failWith;
    this.created.push(req);
    const info = sessionInfo(`new${String(this.created.length).padStart(4, '0')}`, {
      state: 'pending',
      profile: req.profile
    });
    this.sessions.set(info.id, info);
    return info;
  }
  readonly previewed: CreateSessionRequest[] = [];
  async preview(request: CreateSessionRequest): Promise<{ script: string; argv: string[] }> {
    this.previewed.push(request);
    return { script: '#!/bin/bash\n', argv: ['sbatch', '--parsable'] };
  }
  async stop(id: string): Promise<SessionInfo> {
    const info = this.sessions.get(id);
    if (!info) throw new SessionNotFoundError(id);
    const ending = { ...info, state: 'ending' as const };
    this.sessions.set(id, ending);
    return ending;
  }
  async readLog(id: string, opts: { tailBytes: number }): Promise<string> {
    this.logCalls.push({ id, ...opts });
    return this.log.slice(-opts.tailBytes || this.log.length);
  }
  async readLogFrom(id: string, offset: number): Promise<{ text: string; size: number }> {
    if (!this.sessions.has(id)) throw new SessionNotFoundError(id);
    const bytes = Buffer.from(this.log);
    return { text: bytes.subarray(Math.min(offset, bytes.length)).toString(), size: bytes.length };
  }
  subscribe(listener: (e: SessionEvent) => void): () => void {
    this.subscribeCalls++;
    this.listeners.add(listener);
    return () => {
      this.unsubscribeCalls++;
      this.listeners.delete(listener);
    };
  }
  emit(event: SessionEvent): void {
    for (const l of this.listeners) l(event);
  }
  readonly backups: WorkspaceBackup[] = [
    { name: 'workspace-20261206T080000Z.tar.zst', at: '2026-12-06T08:00:00.000Z', bytes: 1234, compressor: 'zstd' }
  ];
  readonly restored: (string | undefined)[] = [];
  readonly extended: { id: string; minutes: number }[] = [];
  async backupWorkspace(id: string): Promise<WorkspaceBackup> {
    if (this.failWith) throw this.failWith;
    const made = { ...this.backups[0], name: 'workspace-20261206T090000Z.tar.zst', seconds: 1.5, sourceBytes: 9999 };
    this.backups.unshift(made);
    return { ...made, at: id === 'abc123' ? '2026-12-06T09:00:00.000Z' : made.at };
  }
  async listWorkspaceBackups(): Promise<WorkspaceBackup[]> {
    return this.backups;
  }
  async restoreWorkspace(_id: string, name?: string): Promise<WorkspaceBackup | null> {
    this.restored.push(name);
    return this.backups.find(b => name === undefined || b.name === name) ?? null;
  }
  async extend(id: string, minutes: number) {
    this.extended.push({ id, minutes });
    return { extended: false, endsAt: null, message: 'testbed does not let users raise a time limit' };
  }
}

export class FakeClusters implements ClusterService {
  readonly actions: { cluster: string; jobId: string; action: JobAction }[] = [];
  failWith: unknown;
  names(): string[] {
    return ['testbed', 'here'];
  }
  async status(cluster: string): Promise<ClusterStatus> {
    if (this.failWith) throw this.failWith;
    return { cluster, fetchedAt: '2025-01-01T00:00:00.000Z', partitions: [], jobs: [] };
  }
  async jobAction(cluster: string, jobId: string, action: JobAction): Promise<void> {
    if (this.failWith) throw this.failWith;
    this.actions.push({ cluster, jobId, action });
  }
  async nodes(): Promise<NodeSummary[]> {
    if (this.failWith) throw this.failWith;
    const node = (name: string, state: string, partitions: string[]): NodeSummary => ({
      name,
      state,
      category: state === 'idle' ? 'idle' : 'allocated',
      partitions,
      cpus: { total: 8, allocated: state === 'idle' ? 0 : 8 },
      gpus: [{ type: 'fake', total: 2, used: 0 }]
    });
    return [node('c1', 'idle', ['debug', 'gpu']), node('c2', 'allocated', ['debug'])];
  }
  async history(cluster: string, since: string): Promise<ClusterHistory> {
    if (this.failWith) throw this.failWith;
    const at = (s: string) => new Date(`2025-01-01T00:00:${s}.000Z`);
    const job = {
      jobId: '41_2',
      name: 'sweep',
      partition: 'debug',
      state: 'COMPLETED',
      cancelledBy: null,
      exitCode: 0,
      elapsedSeconds: 30,
      submit: at('00'),
      start: at('10'),
      end: at('40'),
      cpus: 2,
      cpuSeconds: 45,
      cpuEfficiency: 0.75,
      reqMemBytes: 2 ** 30,
      maxRssBytes: 2 ** 28,
      memEfficiency: 0.25,
      gpus: 0,
      nodes: 'c1',
      comment: 'hpclab-run:sweep-20250101-000000-ab12:cpu'
    };
    return { cluster, since, accounting: true, jobs: [job] };
  }
}

/** Remote kernels as the API sees them: attach records the request and hands back the lease. */
export class FakeKernels implements KernelAttachService {
  readonly attached: { request: KernelAttachRequest; lease: KernelLease }[] = [];
  detached = 0;
  failWith: unknown;
  attach(request: KernelAttachRequest, lease: KernelLease): () => void {
    if (this.failWith) throw this.failWith;
    this.attached.push({ request, lease });
    return () => this.detached++;
  }
  async openChannel(): Promise<undefined> {
    return undefined;
  }
}

/** Kernelspecs and envs as the API sees them; records what it was asked. */
export class FakeKernelspecs implements KernelspecApi {
  readonly added: AddKernelRequest[] = [];
  readonly envCalls: { cluster: string; refresh: boolean }[] = [];
  profiles() {
    return [{ name: 'gpu', cluster: 'testbed', partition: 'gpu', gres: 'gpu:1', time: '01:00:00' }];
  }
  async list(): Promise<HpclabKernelspec[]> {
    return [];
  }
  async add(request: AddKernelRequest) {
    this.added.push(request);
    return {
      name: 'hpclab-testbed-gpu',
      displayName: 'Python 3 · 1 GPU · 1 h · testbed',
      argv: [],
      language: 'python',
      metadata: { profile: request.profile, cluster: 'testbed', version: 1 },
      path: '/k',
      created: true
    };
  }
  async remove(name: string) {
    if (name !== 'hpclab-testbed-gpu') throw new KernelspecError('not-found', `no kernelspec "${name}"`);
    return `/k/${name}`;
  }
  async envs(cluster: string, refresh: boolean): Promise<DiscoveredEnv[]> {
    this.envCalls.push({ cluster, refresh });
    return [];
  }
}

/** Records each setup call; answers as the real service would in shape. */
export class FakeSetup implements SetupApi {
  readonly calls: unknown[][] = [];
  async info() {
    this.calls.push(['info']);
    return { configPath: '/home/me/.config/hpclab/config.json', configured: false, hosts: ['mycluster'] };
  }
  async discover(host: string, cluster?: string) {
    this.calls.push(['discover', host, cluster]);
    return { cluster: cluster ?? host, host, profiles: { cpu: { cluster: cluster ?? host, partition: 'debug' } } };
  }
  async save(host: string, cluster: string, profiles: Record<string, unknown>) {
    this.calls.push(['save', host, cluster, profiles]);
    return { configPath: '/home/me/.config/hpclab/config.json', cluster, added: Object.keys(profiles) };
  }
  async profileConfig(name: string) {
    this.calls.push(['profileConfig', name]);
    return { name, profile: { cluster: 'testbed' } };
  }
  async putProfile(name: string, profile: unknown) {
    this.calls.push(['putProfile', name, profile]);
    return { name, profile };
  }
  async removeProfile(name: string) {
    this.calls.push(['removeProfile', name]);
    return { name, removed: true as const };
  }
}

export const SAMPLE_RUN_ID = 'sweep-20261205-120000-ab12';

/** Plans as the real service does (with one fixed profile, whatever its name); stages nothing. */
export class FakeRuns implements RunApi {
  readonly submitted: PlannedRun[] = [];
  plan(request: SubmitRunRequest): Promise<PlannedRun> {
    const planned = planSubmit({
      request,
      profile: profileSchema.parse({ cluster: 'testbed', partition: 'debug', time: '00:10:00' }),
      cluster: request.cluster ?? 'testbed',
      runId: SAMPLE_RUN_ID,
      root: '/home/me/hpclab-runs',
      now: new Date('2026-12-05T12:00:00.000Z')
    });
    return Promise.resolve(planned);
  }
  preview(request: SubmitRunRequest): Promise<PlannedRun> {
    return this.plan(request);
  }
  async submit(planned: PlannedRun): Promise<SubmittedRun> {
    this.submitted.push(planned);
    return {
      cluster: planned.cluster,
      runId: planned.runId,
      runDir: planned.runDir,
      taskCount: planned.taskCount,
      jobId: '4242',
      log: null
    };
  }
  async list(cluster: string): Promise<{ runs: RunView[]; problems: string[] }> {
    const manifest = parseManifest(
      JSON.stringify({
        version: 1,
        runId: SAMPLE_RUN_ID,
        cluster,
        profile: 'cpu',
        file: 'sweep.ipynb',
        kind: 'notebook',
        args: [],
        params: [{ lr: 0.1 }, { lr: 0.01 }],
        array: '0-1',
        jobName: 'sweep',
        output: null,
        createdAt: '2026-12-05T12:00:00.000Z',
        jobId: '4242'
      })
    );
    const task = (id: string, state: string) => ({
      jobId: `4242_${id}`,
      taskId: id,
      state,
      exitCode: state === 'COMPLETED' ? '0:0' : null,
      node: state === 'PENDING' ? null : 'c1',
      runTime: '00:00:03',
      reason: state === 'PENDING' ? 'Resources' : null
    });
    const runDir = `/home/me/hpclab-runs/${SAMPLE_RUN_ID}`;
    return {
      runs: [
        { cluster, runId: SAMPLE_RUN_ID, runDir, manifest, tasks: [task('0', 'COMPLETED'), task('1', 'RUNNING')] }
      ],
      problems: ['/home/me/hpclab-runs/broken-20261205-120000-0000: hpclab-run.json is not JSON (Unexpected end)']
    };
  }
  async outputs(_cluster: string, runId: string) {
    if (runId !== SAMPLE_RUN_ID) throw new RunNotFoundError(`no run ${runId}`);
    return [{ path: 'out/sweep_0.ipynb', size: 2 }];
  }
  async output(_cluster: string, runId: string, path: string) {
    if (runId !== SAMPLE_RUN_ID || path !== 'out/sweep_0.ipynb')
      throw new RunNotFoundError(`run ${runId} has no output ${path}`);
    return Buffer.from('{}');
  }
}

export interface Harness {
  api: Api;
  kernelspecs: FakeKernelspecs;
  kernels: FakeKernels;
  server: http.Server;
  port: number;
  sessions: FakeSessions;
  clusters: FakeClusters;
  setup: FakeSetup;
  runs: FakeRuns;
  logged: unknown[];
  request(method: string, path: string, options?: RequestOptions): Promise<Reply>;
  close(): Promise<void>;
}

export interface RequestOptions {
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Defaults to the bearer token; `false` sends none. */
  auth?: boolean;
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** Parsed JSON body (loosely typed for assertions), undefined when not JSON. */
  json: any;
}

export async function startHarness(deps: Partial<ApiDeps> = {}): Promise<Harness> {
  const sessions = new FakeSessions();
  const clusters = new FakeClusters();
  const kernels = new FakeKernels();
  const kernelspecs = new FakeKernelspecs();
  const setup = new FakeSetup();
  const runs = new FakeRuns();
  const logged: unknown[] = [];
  const api = createApi({
    sessions,
    clusters,
    kernels,
    kernelspecs,
    setup,
    runs,
    prompts: new PromptBroker(undefined),
    token: TOKEN,
    logger: (_m, err) => logged.push(err),
    ...deps
  });
  const app = express();
  app.use('/hpclab', api.router);
  // Stands in for the node proxy that app.ts mounts behind requireAuth.
  app.use('/proxied', api.requireAuth, (req, res) => {
    res.json({ proxied: req.method, url: req.originalUrl });
  });
  const server = http.createServer(app);
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  const request = (method: string, path: string, options: RequestOptions = {}) =>
    new Promise<Reply>((resolve, reject) => {
      const headers: Record<string, string> = {
        Host: `127.0.0.1:${port}`,
        ...(options.auth === false ? {} : { Authorization: `Bearer ${TOKEN}` })
      };
      Object.assign(headers, options.headers);
      const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent: false }, res =>
        readReply(res, resolve)
      );
      req.on('error', reject);
      req.end(options.body);
    });

  const close = async () => {
    api.close();
    server.closeAllConnections();
    await new Promise<void>(resolve => server.close(() => resolve()));
  };
  return { api, kernels, kernelspecs, server, port, sessions, clusters, setup, runs, logged, request, close };
}

export const jsonHeaders = { 'Content-Type': 'application/json' };

/** Collects a response: status, headers, text, and the JSON in it when there is any. */
export function readReply(
  res: http.IncomingMessage,
  resolve: (reply: Reply) => void,
  reject?: (err: Error) => void
): void {
  const chunks: Buffer[] = [];
  res.on('data', c => chunks.push(c));
  res.on('end', () => {
    const text = Buffer.concat(chunks).toString('utf8');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
  });
  if (reject) res.on('error', reject);
}
