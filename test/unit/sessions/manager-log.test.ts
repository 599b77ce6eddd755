import { EventEmitter } from 'node:events';
import type { HpclabConfig } from '../../../server/config/schema';
import { createLogger } from '../../../server/log';
import { SchedulerError } from '../../../server/scheduler/errors';
import type { ClusterPoller } from '../../../server/scheduler/poller';
import type { Job, Scheduler } from '../../../server/scheduler/types';
import { StateSaveError } from '../../../server/sessions/errors';
import { SessionManager } from '../../../server/sessions/manager';
import type { SessionRecord, SessionStore } from '../../../server/sessions/store';
import type { ExecResult, Transport } from '../../../server/transport/types';

/*
 * The session manager's reconcile loop runs at every squeue answer. When it cannot go on
 * (squeue failing, an answer that does not apply, a state file that cannot be written), the
 * log says so once, and says once when it works again, instead of nothing (before) or every
 * tick. Fakes throughout: a poller we emit on, a transport and a store that fail on demand.
 */

const CONFIG = { clusters: { c: { local: true } }, profiles: { cpu: { cluster: 'c' } } } as unknown as HpclabConfig;

function pendingRecord(): SessionRecord {
  return {
    info: {
      id: 'abc123def',
      kind: 'lab',
      cluster: 'c',
      profile: 'cpu',
      state: 'pending',
      jobId: '42',
      pending: null,
      node: null,
      createdAt: '2025-01-01T00:00:00.000Z',
      startedAt: null,
      endsAt: null,
      endedAt: null,
      endReason: null,
      message: null,
      baseUrl: '/hpclab/node/abc123def/'
    },
    sessionDir: '/home/u/.hpclab/sessions/abc123def',
    target: null,
    token: null,
    stopRequested: false,
    idempotencyKey: null
  };
}

function job(id: string, over: Partial<Job> = {}): Job {
  return {
    id,
    arrayJobId: null,
    arrayTaskId: null,
    name: 'hpclab-abc123def',
    user: 'u',
    state: 'PENDING',
    reason: 'Priority',
    partition: 'debug',
    nodes: null,
    numNodes: 1,
    numCpus: 1,
    timeUsed: 0,
    timeLimit: 3600,
    timeLeft: null,
    submitTime: null,
    startTime: null,
    gres: null,
    comment: null,
    workDir: null,
    ...over
  };
}

class FakePoller extends EventEmitter {
  jobs = { get: async () => ({ data: [], fetchedAt: new Date() }), invalidate: () => undefined };
  start(): void {}
  stop(): void {}
  answer(jobs: Job[]): void {
    this.emit('jobs', { data: jobs, fetchedAt: new Date() });
  }
}

function setup() {
  const entries: string[] = [];
  const logger = createLogger({ level: 'info', write: e => entries.push(e) });
  const poller = new FakePoller();
  const control = { homeFails: false, saveFails: false, saves: 0 };
  const ok = (stdout: string): ExecResult => ({ code: 0, signal: null, stdout, stderr: '' });
  const transport: Transport = {
    cluster: 'c',
    // `printf %s "$HOME"` for an adopted job; nothing else runs here.
    exec: async () => (control.homeFails ? { code: 1, signal: null, stdout: '', stderr: 'no shell' } : ok('/home/u')),
    readFile: async () => {
      throw new Error('no rendezvous file yet');
    },
    openStream: async () => {
      throw new Error('not used');
    },
    execStream: async () => {
      throw new Error('not used');
    },
    writeFile: async () => undefined,
    close: async () => undefined
  };
  const scheduler = { queuePosition: async () => 3, cancel: async () => undefined } as unknown as Scheduler;
  const store = {
    load: async () => [pendingRecord()],
    save: async () => {
      control.saves++;
      if (control.saveFails)
        throw new StateSaveError('/state/sessions.json', new Error('ENOSPC: no space left on device'));
    }
  } as unknown as SessionStore;
  const manager = new SessionManager({
    config: CONFIG,
    clusters: () => ({ transport, scheduler, poller: poller as unknown as ClusterPoller }),
    store,
    logger: logger.child('sessions'),
    startCheckMs: 60_000
  });
  const warnings = () =>
    entries.filter(e => / WARN /.test(e)).map(e => e.replace(/^\S+ WARN sessions: /, '').trimEnd());
  return { manager, poller, control, warnings, entries };
}

/** Lets the manager's promise chains (onJobs, commits) run. */
const settle = () => new Promise(resolve => setTimeout(resolve, 10));

let running: SessionManager | undefined;
afterEach(() => running?.close());

it('logs a failing squeue once, however often it repeats, and once when it answers again', async () => {
  const { manager, poller, warnings } = setup();
  running = manager;
  await manager.start();
  const down = new SchedulerError('unavailable', 'slurm_load_jobs error: Unable to contact slurm controller');
  for (let tick = 0; tick < 4; tick++) {
    poller.emit('jobs-failed', down);
    // The poller's error snapshot (the last good data) comes too; the failure was said already.
    poller.emit('jobs', { data: [], fetchedAt: new Date(), error: 'scheduler unreachable' });
  }
  await settle();
  expect(warnings()).toEqual([
    'squeue on c failed; its sessions do not move until it answers: slurm_load_jobs error: Unable to contact slurm controller'
  ]);
  poller.answer([job('42')]);
  poller.answer([job('42')]);
  await settle();
  expect(warnings()).toHaveLength(2);
  expect(warnings()[1]).toMatch(/^squeue on c answers again \(after 4 failed attempts since \S+\)$/);
  expect(manager.get('abc123def')?.pending).toEqual({ reason: 'Priority', position: 3, estimatedStart: null });
});

it('logs an answer that cannot be applied once, and when sessions follow squeue again', async () => {
  const { manager, poller, control, warnings } = setup();
  running = manager;
  await manager.start();
  // A job of ours the state file does not know: adopting it needs $HOME, which cannot be read.
  control.homeFails = true;
  const lost = job('77', { name: 'hpclab-lost77lost' });
  for (let tick = 0; tick < 3; tick++) {
    poller.answer([job('42'), lost]);
    await settle();
  }
  expect(warnings()).toEqual([
    "cannot apply squeue's answer on c; its sessions do not move: cannot find the home directory on c"
  ]);
  control.homeFails = false;
  poller.answer([job('42'), lost]);
  await settle();
  expect(warnings()[1]).toMatch(/^sessions on c follow squeue again \(after 3 failed attempts since /);
  expect(manager.get('lost77lost')?.cluster).toBe('c');
});

it('logs a failed state write once while it repeats, and when the state is saved again', async () => {
  const { manager, poller, control, warnings, entries } = setup();
  running = manager;
  await manager.start();
  control.saveFails = true;
  // Each answer changes the session (its pending reason), so each one writes the state.
  for (const reason of ['Priority', 'Resources', 'Priority']) {
    poller.answer([job('42', { reason })]);
    await settle();
  }
  expect(control.saves).toBe(3);
  expect(warnings()).toEqual([
    "a state write failed; sessions stay in memory and are written at the next change: cannot save the session state (ENOSPC: no space left on device): make /state/sessions.json's directory writable or free some space, then try again"
  ]);
  control.saveFails = false;
  poller.answer([job('42', { reason: 'Resources' })]);
  await settle();
  expect(warnings()[1]).toMatch(/^the session state is saved again \(after 3 failed attempts since /);
  // Not also reported as an answer that did not apply: one failure, one entry.
  expect(entries.filter(e => e.includes("cannot apply squeue's answer"))).toEqual([]);
});
