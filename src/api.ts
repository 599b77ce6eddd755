import * as z from 'zod/mini';
import {
  addedKernelspecSchema,
  clusterNamesSchema,
  clusterNodeListSchema,
  clusterStatusSchema,
  discoveredEnvSchema,
  errorBodySchema,
  extendReplySchema,
  historySchema,
  kernelspecSchema,
  profileSchema,
  runListSchema,
  runOutputsSchema,
  runPreviewSchema,
  sessionPreviewSchema,
  sessionSchema,
  submittedRunSchema,
  versionSchema,
  workspaceBackupListSchema,
  workspaceBackupSchema,
  type AddKernelBody,
  type CreateEnvBody,
  type EnvCreateEvent,
  envCreateEventSchema,
  type ClusterNode,
  type ClusterStatus,
  type CreateSessionBody,
  type DiscoveredEnv,
  type ExtendReply,
  type History,
  type JobAction,
  type Kernelspec,
  type Profile,
  type RunList,
  type RunOutputs,
  type RunPreview,
  type Session,
  type SessionPreview,
  type SubmitRunBody,
  type SubmittedRun,
  type WorkspaceBackup
} from './contract';
import { english, type Words } from './translate';
import type { CompanionVersion } from './version';

/** A failed request, in words for the user; `fields` names each bad form field. */
export class HpclabError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fields: { path: string; message: string }[] = []
  ) {
    super(message);
    this.name = 'HpclabError';
  }
}

export type { JobAction } from './contract';

/** What the Request form sends; the key travels in the Idempotency-Key header instead. */
export type SessionRequest = Omit<CreateSessionBody, 'idempotencyKey'>;

/** A 204 reply: no body to check. */
const noContent = z.undefined();

/**
 * The one request path to the companion. `base` is where it answers (`/hpclab/` on the same
 * origin under `hpclab lab`, or the `companionUrl` setting); the token rides in the cookie the
 * companion set, or in the header when the setting carries `?token=`.
 */
export class HpclabApi {
  readonly base: string;
  private readonly token: string | null;

  constructor(
    companionUrl: string,
    private readonly fetchImpl: typeof fetch = (...args) => fetch(...args),
    private readonly trans: Words = english
  ) {
    const url = new URL(companionUrl || '/hpclab/', window.location.href);
    this.token = url.searchParams.get('token');
    url.search = '';
    if (!url.pathname.endsWith('/')) url.pathname += '/';
    if (!url.pathname.endsWith('/hpclab/')) url.pathname += 'hpclab/';
    this.base = url.href;
  }

  url(path: string): string {
    return new URL(path.replace(/^\//, ''), this.base).href;
  }

  /** Sends and checks the reply against `schema`; every failure becomes an HpclabError. */
  async request<T>(
    method: string,
    path: string,
    schema: z.ZodMiniType<T>,
    body?: unknown,
    headers: Record<string, string> = {}
  ): Promise<T> {
    const res = await this.send(method, path, {
      headers: { ...(body === undefined ? {} : { 'Content-Type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body)
    });
    const parsed = schema.safeParse(parseJson(await res.text()));
    if (!parsed.success)
      throw new HpclabError(
        res.status,
        'bad-reply',
        this.trans.__(
          'Unexpected reply from the companion for %1 %2: %3',
          method,
          path,
          parsed.error.issues[0]?.message ?? 'invalid'
        )
      );
    return parsed.data;
  }

  /**
   * The one place a request leaves: the credential (the cookie on the same origin, the token
   * header on another), and any failure or non-2xx answer turned into an HpclabError.
   */
  private async send(
    method: string,
    path: string,
    init: RequestInit & { headers?: Record<string, string> } = {}
  ): Promise<Response> {
    let res: Response;
    try {
      res = await this.fetchImpl(this.url(path), {
        ...init,
        method,
        credentials: 'same-origin',
        headers: { ...(this.token ? { Authorization: `token ${this.token}` } : {}), ...init.headers }
      });
    } catch (err) {
      throw new HpclabError(
        0,
        'unreachable',
        this.trans.__('The hpclab companion is not answering at %1 (%2).', this.base, (err as Error).message)
      );
    }
    if (res.ok) return res;
    const parsed = errorBodySchema.safeParse(parseJson(await res.text()));
    if (parsed.success)
      throw new HpclabError(res.status, parsed.data.error.code, parsed.data.error.message, parsed.data.error.fields);
    throw new HpclabError(
      res.status,
      'http',
      this.trans.__('The companion answered %1 %2.', res.status, res.statusText)
    );
  }

  /** The companion's release; undefined when it predates the route (a 404). */
  async version(): Promise<CompanionVersion | undefined> {
    try {
      return await this.request('GET', 'api/version', versionSchema);
    } catch (err) {
      if (err instanceof HpclabError && err.status === 404) return undefined;
      throw err;
    }
  }

  clusters(): Promise<string[]> {
    return this.request('GET', 'api/clusters', clusterNamesSchema);
  }

  status(cluster: string): Promise<ClusterStatus> {
    return this.request('GET', `api/clusters/${encodeURIComponent(cluster)}/status`, clusterStatusSchema);
  }

  jobAction(cluster: string, jobId: string, action: JobAction): Promise<undefined> {
    return this.request(
      'POST',
      `api/clusters/${encodeURIComponent(cluster)}/jobs/${encodeURIComponent(jobId)}/${action}`,
      noContent
    );
  }

  /** Jobs since `since` (`1d`, `7d`, a date) from the cluster's accounting. */
  history(cluster: string, since: string): Promise<History> {
    return this.request(
      'GET',
      `api/clusters/${encodeURIComponent(cluster)}/history?since=${encodeURIComponent(since)}`,
      historySchema
    );
  }

  /** The cluster's nodes as sinfo shows them, each once; only those of `partition` when given. */
  nodes(cluster: string, partition?: string): Promise<ClusterNode[]> {
    const query = partition ? `?partition=${encodeURIComponent(partition)}` : '';
    return this.request('GET', `api/clusters/${encodeURIComponent(cluster)}/nodes${query}`, clusterNodeListSchema);
  }

  /** What submitRun would stage and submit, checked by the companion; nothing is staged. */
  previewRun(body: SubmitRunBody): Promise<RunPreview> {
    return this.request('POST', 'api/runs/preview', runPreviewSchema, body);
  }

  submitRun(body: SubmitRunBody): Promise<SubmittedRun> {
    return this.request('POST', 'api/runs', submittedRunSchema, body);
  }

  runs(cluster: string): Promise<RunList> {
    return this.request('GET', `api/clusters/${encodeURIComponent(cluster)}/runs`, runListSchema);
  }

  runOutputs(cluster: string, runId: string): Promise<RunOutputs> {
    return this.request(
      'GET',
      `api/clusters/${encodeURIComponent(cluster)}/runs/${encodeURIComponent(runId)}/outputs`,
      runOutputsSchema
    );
  }

  /** One output of a run (as runOutputs names it), as text: an executed notebook's JSON. */
  async runOutput(cluster: string, runId: string, path: string): Promise<string> {
    const res = await this.send(
      'GET',
      `api/clusters/${encodeURIComponent(cluster)}/runs/${encodeURIComponent(runId)}/output?path=${encodeURIComponent(path)}`
    );
    return res.text();
  }

  profiles(): Promise<Profile[]> {
    return this.request('GET', 'api/profiles', z.array(profileSchema));
  }

  sessions(): Promise<Session[]> {
    return this.request('GET', 'api/sessions', z.array(sessionSchema));
  }

  createSession(request: SessionRequest, idempotencyKey: string): Promise<Session> {
    return this.request('POST', 'api/sessions', sessionSchema, request, { 'Idempotency-Key': idempotencyKey });
  }

  stopSession(id: string): Promise<Session> {
    return this.request('DELETE', `api/sessions/${encodeURIComponent(id)}`, sessionSchema);
  }

  previewSession(request: SessionRequest): Promise<SessionPreview> {
    return this.request('POST', 'api/sessions/preview', sessionPreviewSchema, request);
  }

  /** Backs up the session's workspace now; answers once the backup is written (409 while one runs). */
  backupWorkspace(id: string): Promise<WorkspaceBackup> {
    return this.request('POST', `api/sessions/${encodeURIComponent(id)}/workspace/backup`, workspaceBackupSchema);
  }

  /** The session's workspace backups on shared storage, newest first. */
  workspaceBackups(id: string): Promise<WorkspaceBackup[]> {
    return this.request('GET', `api/sessions/${encodeURIComponent(id)}/workspace/backups`, workspaceBackupListSchema);
  }

  /** Restores the backup `name` (the newest without one) into the running workspace; null when there is none. */
  restoreWorkspace(id: string, name?: string): Promise<WorkspaceBackup | null> {
    return this.request(
      'POST',
      `api/sessions/${encodeURIComponent(id)}/workspace/restore`,
      z.nullable(workspaceBackupSchema),
      { name: name ?? 'newest' }
    );
  }

  /** Asks Slurm for `minutes` more walltime; a site that refuses answers `extended: false` with words. */
  extendSession(id: string, minutes: number): Promise<ExtendReply> {
    return this.request('POST', `api/sessions/${encodeURIComponent(id)}/extend`, extendReplySchema, { minutes });
  }

  /**
   * The session's job log: the last `tail` bytes, then (with `follow`) what the job appends until
   * the session is over. Yields text as it arrives; abort `signal` to stop following.
   */
  async *sessionLog(
    id: string,
    options: { tail?: number; follow?: boolean; signal?: AbortSignal } = {}
  ): AsyncGenerator<string> {
    const query = `tail=${options.tail ?? 65536}${options.follow ? '&follow=1' : ''}`;
    const res = await this.send('GET', `api/sessions/${encodeURIComponent(id)}/log?${query}`, {
      signal: options.signal
    });
    if (!res.body) {
      // No stream to read (an old browser, or a reply without a body): the text as one piece.
      yield await res.text();
      return;
    }
    const reader = res.body.getReader();
    const decoder = new TextDecoder(); // `stream: true` keeps a UTF-8 character split across chunks whole
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      const text = decoder.decode(value, { stream: true });
      if (text) yield text;
    }
    const rest = decoder.decode();
    if (rest) yield rest;
  }

  /**
   * Makes an environment on the cluster and registers it as a kernel: yields each step, each line
   * pip prints, then `done` or `error` (POST /api/envs, one JSON event a line).
   */
  async *createEnv(body: CreateEnvBody, signal?: AbortSignal): AsyncGenerator<EnvCreateEvent> {
    const res = await this.send('POST', 'api/envs', {
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
      signal
    });
    let pending = '';
    const parse = (line: string): EnvCreateEvent => {
      const parsed = envCreateEventSchema.safeParse(parseJson(line));
      if (!parsed.success)
        throw new HpclabError(
          res.status,
          'bad-reply',
          this.trans.__('Unexpected reply from the companion for %1 %2: %3', 'POST', 'api/envs', line.slice(0, 200))
        );
      return parsed.data;
    };
    const take = function* (text: string) {
      pending += text;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) yield parse(line);
    };
    if (!res.body) {
      // No stream to read (an old browser): the whole reply at once.
      yield* take(await res.text());
    } else {
      const reader = res.body.getReader();
      const decoder = new TextDecoder(); // `stream: true` keeps a UTF-8 character split across chunks whole
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        yield* take(decoder.decode(value, { stream: true }));
      }
      pending += decoder.decode();
    }
    if (pending.trim()) yield parse(pending);
  }

  kernelspecs(): Promise<Kernelspec[]> {
    return this.request('GET', 'api/kernelspecs', z.array(kernelspecSchema));
  }

  addKernelspec(request: AddKernelBody): Promise<Kernelspec & { created: boolean }> {
    return this.request('POST', 'api/kernelspecs', addedKernelspecSchema, request);
  }

  envs(cluster: string, refresh = false): Promise<DiscoveredEnv[]> {
    return this.request(
      'GET',
      `api/clusters/${encodeURIComponent(cluster)}/envs${refresh ? '?refresh=1' : ''}`,
      z.array(discoveredEnvSchema)
    );
  }

  answerPrompt(id: string, answers: string[]): Promise<undefined> {
    return this.request('POST', `api/prompts/${encodeURIComponent(id)}`, noContent, { answers });
  }

  cancelPrompt(id: string): Promise<undefined> {
    return this.request('DELETE', `api/prompts/${encodeURIComponent(id)}`, noContent);
  }

  /**
   * Where the session's own Lab is served (through the companion's proxy). A companion on
   * another origin gets the token once in the URL: it sets its cookie there and drops the token.
   */
  sessionUrl(session: Session): string {
    return this.withToken(new URL(session.baseUrl, this.base));
  }

  /** The live stream; an EventSource cannot send a header, so another origin's carries the token. */
  eventsUrl(): string {
    return this.withToken(new URL(this.url('events')));
  }

  /** True when the companion is on another origin and the token (not the cookie) is the credential. */
  get usesToken(): boolean {
    return this.token !== null;
  }

  private withToken(url: URL): string {
    if (this.token) url.searchParams.set('token', this.token);
    return url.href;
  }
}

/** The reply's JSON, or undefined when it is not JSON (a proxy's error page). */
function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined; // the caller's schema check says what was expected instead
  }
}
