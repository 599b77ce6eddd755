import * as http from 'node:http';
import type { Duplex } from 'node:stream';
import { RepeatedFailures, type Logger } from '../log';
import { IdlePolicy } from './idle-policy';

/** One answer of the Lab's server: status, body, and its `Date` header (the node's clock). */
export interface LabReply {
  status: number;
  body: string;
  date: string | undefined;
}

/** GETs `path` (relative to the Lab's base URL) from the Lab's server, with its token. */
export type LabGet = (path: string) => Promise<LabReply>;

/** What the Lab's server says of its activity. */
export interface LabActivity {
  /** jupyter_server's `last_activity` as it sent it (ISO 8601, the node's clock). */
  lastActivity: string;
  /** How long ago that was by the node's own clock (its `Date` header; ours without one), in ms. */
  idleForMs: number;
  /** Kernels whose `execution_state` is busy (or still `starting`, see below). */
  busyKernels: number;
}

/**
 * Asks the Lab's Jupyter server how active it is. `GET api/status` gives `last_activity`: the
 * latest of its start, API requests, kernel messages and terminal use (jupyter_server's
 * `ServerApp.last_activity`). It also counts `kernels` and `connections`, but does not say which
 * kernel is busy, and a kernel busy in a long silent computation sends nothing that would move
 * `last_activity`; so when there are kernels, `GET api/kernels` gives each one's
 * `execution_state`. `no_track_activity` keeps these requests from counting as activity.
 */
export async function readLabActivity(get: LabGet, now: () => number = Date.now): Promise<LabActivity> {
  const status = readJson(await get('api/status?no_track_activity=1'), 'api/status', now);
  const { last_activity: lastActivity, kernels } = (status.json ?? {}) as {
    last_activity?: unknown;
    kernels?: unknown;
  };
  const at = typeof lastActivity === 'string' ? Date.parse(lastActivity) : NaN;
  if (typeof lastActivity !== 'string' || Number.isNaN(at))
    throw new Error(`api/status has no last_activity time: ${JSON.stringify(status.json).slice(0, 200)}`);
  let busyKernels = 0;
  if (typeof kernels !== 'number' || kernels > 0) {
    const list = readJson(await get('api/kernels?no_track_activity=1'), 'api/kernels', now).json;
    if (!Array.isArray(list)) throw new Error('api/kernels did not answer with a list');
    // `starting` counts as busy too: the server learns a kernel's state from an iopub socket of
    // its own, which can join after the first cell's `busy` went by (ZeroMQ's late subscriber);
    // a kernel running one long silent cell then stays `starting` to the server. Holding such a
    // kernel is the safe side: a busy one must never be released.
    busyKernels = list.filter(k => {
      const state = (k as { execution_state?: unknown } | null)?.execution_state;
      return state === 'busy' || state === 'starting';
    }).length;
  }
  return { lastActivity, idleForMs: Math.max(0, status.serverNow - at), busyKernels };
}

function readJson(reply: LabReply, what: string, now: () => number): { json: unknown; serverNow: number } {
  if (reply.status !== 200) throw new Error(`${what} answered HTTP ${reply.status}`);
  const date = reply.date === undefined ? NaN : Date.parse(reply.date);
  let json: unknown;
  try {
    json = JSON.parse(reply.body);
  } catch (err) {
    throw new Error(`${what} did not answer JSON: ${reply.body.slice(0, 200)}`, { cause: err });
  }
  return { json, serverNow: Number.isNaN(date) ? now() : date };
}

/**
 * GET `path` from the Lab's server over a stream the caller opened (the session's relay or
 * transport), with the server's token, like the start watcher's probe. The body is capped: the
 * answers read here are small.
 */
export function getOverStream(
  stream: Duplex,
  path: string,
  token: string,
  { timeoutMs = 10_000, maxBytes = 1 << 20 } = {}
): Promise<LabReply> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      createConnection: () => stream as never,
      host: 'hpclab-node',
      path,
      headers: { Authorization: `token ${token}`, Connection: 'close' },
      timeout: timeoutMs
    });
    const fail = (err: Error) => {
      req.destroy();
      stream.destroy();
      reject(err);
    };
    req.on('response', res => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) fail(new Error(`GET ${path}: more than ${maxBytes} bytes`));
        else chunks.push(chunk);
      });
      res.on('end', () => {
        stream.destroy();
        const date = res.headers.date;
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), date });
      });
      res.on('error', fail);
    });
    req.on('timeout', () => fail(new Error(`GET ${path}: no answer within ${timeoutMs} ms`)));
    req.on('error', fail);
    req.end();
  });
}

export interface LabIdleOptions {
  sessionId: string;
  /** The profile's limit (`profileIdleMinutes`); 0 watches nothing. */
  idleMinutes: number;
  /** Default min(5, idleMinutes / 2). */
  warnMinutes?: number;
  /** Milliseconds per minute (`idleMinuteMs()`). */
  minuteMs: number;
  get: LabGet;
  logger: Logger;
  now?: () => number;
  /** Idle long enough: the session stops in `minutesLeft` minutes, at `stopsAt` (ms), unless it is used. */
  warn(minutesLeft: number, stopsAt: number): void;
  /** Warned and still idle: stop the session (with end reason `idle`). */
  release(): Promise<void>;
}

/**
 * A Lab session's idle release: asks its server about its activity once a minute (sooner when a
 * warning or the release falls due) and lets the idle policy decide. An answer that does not
 * come changes nothing: a Lab that cannot be asked is neither idle nor busy, and the failure is
 * logged when it starts and when it ends.
 */
export class LabIdle {
  private readonly policy: IdlePolicy;
  private readonly failures: RepeatedFailures;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  /** The last `last_activity` seen and when, by our clock, it was: so one idle spell keeps one start. */
  private seen: { lastActivity: string; idleSince: number } | undefined;

  constructor(private readonly options: LabIdleOptions) {
    const { idleMinutes, warnMinutes, minuteMs, sessionId, logger } = options;
    this.now = options.now ?? Date.now;
    this.failures = new RepeatedFailures(logger);
    this.policy = new IdlePolicy({
      idleMinutes,
      warnMinutes,
      minuteMs,
      now: this.now,
      warn: (minutesLeft, stopsAt) => options.warn(minutesLeft, stopsAt),
      release: () => {
        this.stop();
        options.release().catch(err => logger.error(`session ${sessionId}: cannot stop it after its idle time`, err));
      },
      active: () => logger.info(`session ${sessionId}: in use again; the idle stop is off`)
    });
  }

  start(): void {
    if (this.running || this.options.idleMinutes <= 0 || this.policy.released) return;
    this.running = true;
    this.schedule(0);
  }

  stop(): void {
    this.running = false;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** One look at the Lab; resolves when its answer has been applied (tests call it directly). */
  async check(): Promise<void> {
    const { sessionId, minuteMs } = this.options;
    let due: number | undefined = minuteMs;
    try {
      const activity = await readLabActivity(this.options.get, this.now);
      this.failures.recovered('status', `session ${sessionId}: its server answers about its activity again`);
      if (!this.running) return;
      due = this.policy.check(this.idleSince(activity));
    } catch (err) {
      this.failures.failed(
        'status',
        `session ${sessionId}: cannot ask its server whether it is idle; it is not stopped for idleness meanwhile`,
        err
      );
    }
    if (this.running) this.schedule(Math.min(due ?? minuteMs, minuteMs));
  }

  private idleSince(activity: LabActivity): number | undefined {
    if (activity.busyKernels > 0) {
      this.seen = undefined;
      return undefined;
    }
    // The same last_activity as before: the same idle spell (the Date header only has seconds).
    if (this.seen?.lastActivity !== activity.lastActivity)
      this.seen = { lastActivity: activity.lastActivity, idleSince: this.now() - activity.idleForMs };
    return this.seen.idleSince;
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.check(), ms);
    this.timer.unref();
  }
}
