import './dom-polyfills';
import type { ISessionContext } from '@jupyterlab/apputils';
import type { Kernel, KernelMessage } from '@jupyterlab/services';
import { Signal } from '@lumino/signaling';
import type { OpenNotebook } from '../../src/checkpoint/notebooks';
import type { CheckpointReport } from '../../src/checkpoint/run';
import { KernelCheckpoints } from '../../src/checkpoint/service';
import type { CheckpointHost, KernelOps } from '../../src/checkpoint/types';
import type { Session } from '../../src/contract';
import { readLiveEvent } from '../../src/live-events';
import { english } from '../../src/translate';
import { FakeModel } from './fake-model';
import { sessionBase } from './fixtures';

// apputils ships ES modules jest does not load; the service only needs Notification.
type Note = { id: string; message: string; type: string; actions: { label: string; callback: (e: unknown) => void }[] };
const notes: Note[] = [];
jest.mock('@jupyterlab/apputils', () => ({
  Notification: {
    emit: (message: string, type: string, options: { actions?: Note['actions'] }) => {
      const id = String(notes.length + 1);
      notes.push({ id, message, type, actions: options.actions ?? [] });
      return id;
    },
    update: (u: { id: string; message: string; type: string; actions?: Note['actions'] }) => {
      const note = notes.find(n => n.id === u.id);
      if (note) Object.assign(note, { message: u.message, type: u.type, actions: u.actions ?? [] });
      return note !== undefined;
    },
    dismiss: (id: string) => {
      const at = notes.findIndex(n => n.id === id);
      if (at >= 0) notes.splice(at, 1);
    }
  }
}));

const settle = async () => {
  for (let i = 0; i < 30; i++) await new Promise(resolve => setTimeout(resolve, 0));
};
const click = (note: Note, label: string) =>
  note.actions.find(a => a.label === label)!.callback({ preventDefault: () => undefined });

const ckpt = { ...sessionBase, id: 's1', kind: 'kernel' as const, profile: 'ckpt', state: 'running' as const };
const SPECS = {
  default: '',
  kernelspecs: {
    'hpclab-testbed-ckpt': { metadata: { hpclab: { profile: 'ckpt', cluster: 'testbed' } } },
    'hpclab-testbed-gpu': { metadata: { hpclab: { profile: 'gpu', cluster: 'testbed' } } },
    python3: { metadata: {} }
  }
} as never;

/** A notebook on a fake kernel: the job it runs in, its execution count, and what its namespace saves. */
class FakeNotebook implements OpenNotebook {
  readonly name: string;
  readonly iopub = new Signal<unknown, KernelMessage.IIOPubMessage>(this);
  readonly sessionContext: ISessionContext;
  count = 2;
  constructor(
    readonly path: string,
    kernelName: string,
    public job: string,
    public saves: Partial<CheckpointReport> = { saved: ['x', 'f'], skipped: {} }
  ) {
    this.name = path.split('/').pop()!;
    const kernel = { name: kernelName, status: 'idle', connectionStatus: 'connected', iopubMessage: this.iopub };
    this.sessionContext = { session: { kernel }, kernelPreference: { name: kernelName }, isDisposed: false } as never;
  }
  /** The user runs a cell: execute_input, then its idle status, as ipykernel sends them. */
  userRuns(): void {
    const parent = { msg_id: `user-${++this.count}` };
    this.iopub.emit({
      header: { msg_type: 'execute_input' },
      parent_header: parent,
      content: { code: 'y = 1' }
    } as never);
    this.iopub.emit({
      header: { msg_type: 'status' },
      parent_header: parent,
      content: { execution_state: 'idle' }
    } as never);
  }
}

function setup(notebooks: FakeNotebook[], options: { kernels?: number } = {}) {
  const ran: string[] = [];
  const of = (kernel: Kernel.IKernelConnection) => notebooks.find(nb => nb.sessionContext.session?.kernel === kernel)!;
  const ops: KernelOps = {
    ready: async sc => sc.session!.kernel!,
    probe: async kernel => {
      ran.push(`probe ${of(kernel).name}`);
      return { job: of(kernel).job, count: of(kernel).count };
    },
    save: async (kernel, path) => {
      const nb = of(kernel);
      ran.push(`save ${nb.name}`);
      return { path, bytes: 10, seconds: 0.1, pickler: 'dill', saved: [], skipped: {}, count: nb.count, ...nb.saves };
    },
    restore: async kernel => {
      ran.push(`restore ${of(kernel).name} in ${of(kernel).job}`);
      return { restored: ['x', 'f'], failed: { z: "ModuleNotFoundError: No module named 'torch'" } };
    },
    restart: async sc => {
      const nb = notebooks.find(n => n.sessionContext === sc)!;
      ran.push(`restart ${nb.name}`);
      nb.job = '8';
      nb.count = 1;
    }
  };
  const host: CheckpointHost = {
    notebooks: () => notebooks,
    current: () => notebooks[0] ?? null,
    specs: () => SPECS,
    root: '/home/u',
    confirm: jest.fn(async () => true),
    details: jest.fn()
  };
  const model = new FakeModel();
  const session: Session = { ...ckpt, jobId: '7', ...(options.kernels ? { kernels: options.kernels } : {}) };
  model.sessions = [session];
  model.profiles = [
    { name: 'ckpt', cluster: 'testbed', checkpoint: true },
    { name: 'gpu', cluster: 'testbed' }
  ];
  model.api = {
    stopSession: jest.fn(async (id: string) => {
      ran.push(`stop ${id}`);
      return { ...session, state: 'ending' };
    })
  } as never;
  let clock = 1_000_000;
  const service = new KernelCheckpoints(model, host, ops, english, () => (clock += 1500));
  model.events.connect((_m, event) => service.onEvent(event));
  const warn = (sessionId = 's1') => {
    const frame = { type: 'walltime-warning', sessionId, minutesLeft: 4, endsAt: '2026-01-01T11:00:00Z' };
    model.events.emit(readLiveEvent('walltime-warning', frame, model.sessions).event!);
  };
  return { ran, warn, host, model, service, ops };
}

afterEach(() => notes.splice(0));

test('at the first warning, only notebooks whose kernel says it runs in the job save, with one notification', async () => {
  const a = new FakeNotebook('work/a.ipynb', 'hpclab-testbed-ckpt', '7', {
    saved: ['x', 'threading'],
    skipped: { gen: "generator: cannot pickle 'generator' object" }
  });
  const other = new FakeNotebook('b.ipynb', 'hpclab-testbed-ckpt', '9'); // another allocation of the profile
  const gpu = new FakeNotebook('c.ipynb', 'hpclab-testbed-gpu', '7'); // another profile: never asked
  const local = new FakeNotebook('d.ipynb', 'python3', '7');
  const { ran, warn } = setup([a, other, gpu, local]);
  warn();
  expect(notes).toHaveLength(1);
  expect(notes[0]).toMatchObject({
    type: 'in-progress',
    message: 'Saving the variables of the notebooks in job 7 to continue later…'
  });
  await settle();
  expect(ran).toEqual(['probe a.ipynb', 'probe b.ipynb', 'save a.ipynb']);
  expect(notes).toHaveLength(1);
  expect(notes[0]).toMatchObject({
    type: 'warning',
    message:
      "Saved 2 variables of a.ipynb to continue later; not saved: gen (generator: cannot pickle 'generator' object)"
  });
  expect(notes[0].actions.map(a => a.label)).toEqual(['Continue in a new session', 'Details']);

  // The 2-minute warning of the same session asks nothing more.
  warn();
  await settle();
  expect(ran).toHaveLength(3);
  expect(notes).toHaveLength(1);
});

test('a profile that does not opt in, or no notebook on it: no checkpoint and no notification', async () => {
  const a = new FakeNotebook('a.ipynb', 'hpclab-testbed-gpu', '7');
  const { ran, warn, model } = setup([a]);
  model.sessions = [{ ...model.sessions[0], profile: 'gpu' }];
  warn();
  await settle();
  expect(ran).toEqual([]);
  expect(notes).toEqual([]);
});

test('a checkpoint taken before anything ran saves again once the user has run a cell', async () => {
  const a = new FakeNotebook('a.ipynb', 'hpclab-testbed-ckpt', '7', { saved: [], skipped: {} });
  const { ran, warn } = setup([a]);
  warn();
  await settle();
  expect(notes[0].message).toBe('Nothing to save yet in a.ipynb: its variables are saved after its next run.');
  a.saves = { saved: ['x', 'lock'], skipped: {} };
  a.userRuns();
  await settle();
  expect(ran).toEqual(['probe a.ipynb', 'save a.ipynb', 'save a.ipynb']);
  expect(notes).toHaveLength(1);
  expect(notes[0].message).toBe('Saved 2 variables of a.ipynb to continue later.');
});

test('Continue: saves again only if a cell ran since, then stop, restart, restore, in that order', async () => {
  const info = jest.spyOn(console, 'info').mockImplementation(() => undefined);
  const a = new FakeNotebook('a.ipynb', 'hpclab-testbed-ckpt', '7');
  const { ran, warn } = setup([a]);
  warn();
  await settle();
  a.userRuns(); // after the warning's checkpoint: it is stale now
  click(notes[0], 'Continue in a new session');
  await settle();
  expect(ran).toEqual([
    'probe a.ipynb',
    'save a.ipynb',
    'probe a.ipynb',
    'save a.ipynb',
    'stop s1',
    'restart a.ipynb',
    'probe a.ipynb',
    'restore a.ipynb in 8'
  ]);
  expect(notes).toHaveLength(1);
  expect(notes[0]).toMatchObject({
    type: 'warning',
    message: "Continued in job 8: restored x, f; could not restore: z (ModuleNotFoundError: No module named 'torch')"
  });
  expect(info).toHaveBeenCalledWith(
    expect.stringMatching(
      /Continued in job 8: .* \[job 7 -> 8: \d+\.\d s from "Continue in a new session" to continued\]$/
    )
  );
  info.mockRestore();
});

test('Continue right after the warning reuses its checkpoint', async () => {
  jest.spyOn(console, 'info').mockImplementation(() => undefined);
  const a = new FakeNotebook('a.ipynb', 'hpclab-testbed-ckpt', '7');
  const { ran, warn } = setup([a]);
  warn();
  await settle();
  click(notes[0], 'Continue in a new session');
  await settle();
  expect(ran).toEqual([
    'probe a.ipynb',
    'save a.ipynb',
    'probe a.ipynb',
    'stop s1',
    'restart a.ipynb',
    'probe a.ipynb',
    'restore a.ipynb in 8'
  ]);
});

test('other kernels in the job that are not open here: the user is asked before they stop', async () => {
  const a = new FakeNotebook('a.ipynb', 'hpclab-testbed-ckpt', '7');
  const { ran, warn, host } = setup([a], { kernels: 2 });
  (host.confirm as jest.Mock).mockResolvedValueOnce(false);
  warn();
  await settle();
  click(notes[0], 'Continue in a new session');
  await settle();
  expect(host.confirm).toHaveBeenCalledWith(
    'Stop the other kernels in job 7?',
    '1 kernel in job 7 is not open here: it stops without saving its variables.',
    'Continue'
  );
  expect(ran).not.toContain('stop s1');
  expect(notes[0].actions.map(a => a.label)).toEqual(['Continue in a new session', 'Details']);
});

test('the command continues the current notebook: its kernel names the job, the job names the session', async () => {
  jest.spyOn(console, 'info').mockImplementation(() => undefined);
  const a = new FakeNotebook('a.ipynb', 'hpclab-testbed-ckpt', '7');
  const { ran, service } = setup([a]);
  await service.continueCurrent();
  expect(ran).toEqual([
    'probe a.ipynb',
    'probe a.ipynb',
    'save a.ipynb',
    'stop s1',
    'restart a.ipynb',
    'probe a.ipynb',
    'restore a.ipynb in 8'
  ]);
  expect(notes.at(-1)?.message).toMatch(/^Continued in job 8: restored x, f/);
});

test('the command on a notebook of a local kernel says why it cannot continue', async () => {
  const { ran, service } = setup([new FakeNotebook('a.ipynb', 'python3', '7')]);
  await service.continueCurrent();
  expect(ran).toEqual([]);
  expect(notes[0]).toMatchObject({
    type: 'error',
    message: 'Continue in a new session: the current tab is not a notebook on an hpclab remote kernel.'
  });
});

test("the command after the warning goes on in the warning's notification", async () => {
  jest.spyOn(console, 'info').mockImplementation(() => undefined);
  const a = new FakeNotebook('a.ipynb', 'hpclab-testbed-ckpt', '7');
  const { warn, service } = setup([a]);
  warn();
  await settle();
  await service.continueCurrent();
  expect(notes).toHaveLength(1);
  expect(notes[0].id).toBe('1');
  expect(notes[0].message).toMatch(/^Continued in job 8: restored x, f/);
});

test('while the kernel waits, the notification shows where the new allocation is in the queue', async () => {
  jest.spyOn(console, 'info').mockImplementation(() => undefined);
  const a = new FakeNotebook('a.ipynb', 'hpclab-testbed-ckpt', '7');
  const { warn, model, ops } = setup([a]);
  const seen: string[] = [];
  const restart = ops.restart;
  ops.restart = async sc => {
    const pending = { reason: 'Resources', position: 1, estimatedStart: null };
    // The companion submits the same session again: same id, a new job.
    model.set({ sessions: [{ ...ckpt, jobId: '8', state: 'pending', pending, createdAt: new Date().toISOString() }] });
    seen.push(notes[0].message);
    await restart(sc);
  };
  warn();
  await settle();
  click(notes[0], 'Continue in a new session');
  await settle();
  expect(seen).toEqual(['Waiting for a new allocation: job 8, Resources, #1 in the queue…']);
  expect(notes[0].message).toMatch(/^Continued in job 8/);
});

test("the new job's first warning saves again, after the restore: the same session id, submitted again", async () => {
  jest.spyOn(console, 'info').mockImplementation(() => undefined);
  const a = new FakeNotebook('a.ipynb', 'hpclab-testbed-ckpt', '7');
  const { ran, warn, model, ops } = setup([a]);
  warn();
  await settle();
  // The new job's first warning comes as it starts, while the kernel restarts in it: it waits its turn.
  const restart = ops.restart;
  ops.restart = async sc => {
    model.sessions = [{ ...model.sessions[0], jobId: '8' }];
    warn();
    await restart(sc);
  };
  click(notes[0], 'Continue in a new session');
  await settle();
  expect(ran.slice(-3)).toEqual(['restore a.ipynb in 8', 'probe a.ipynb', 'save a.ipynb']);
  expect(notes.map(n => n.message)).toEqual([
    "Continued in job 8: restored x, f; could not restore: z (ModuleNotFoundError: No module named 'torch')",
    'Saved 2 variables of a.ipynb to continue later.'
  ]);
});
