import type { ISessionContext } from '@jupyterlab/apputils';
import type { Kernel } from '@jupyterlab/services';
import type { Session } from '../contract';
import { pendingText } from '../format';
import { LiveNotification } from '../notifications';
import type { IHpclabModel, LiveEvent } from '../tokens';
import type { Words } from '../translate';
import { afterNextUserRun } from './activity';
import { checkpointKey, checkpointPath } from './code';
import { continueKernels, ContinueError } from './continue';
import { offerLabContinue } from './lab';
import { remoteKernelOf, type OpenNotebook } from './notebooks';
import type { Allocation, CheckpointHost, KernelOps, Member } from './types';
import { continuedMessage, savedDetails, savedMessage, savedWithLoss, type SavedNotebook } from './words';

/** Waiting for a kernel after the allocation's first warning: at least a minute, at most until it ends. */
const MIN_WAIT_MS = 60_000;
/** A kernel asked to continue must answer soon; a new allocation may queue for hours. */
const ANSWER_MS = 30_000;
const NEW_ALLOCATION_MS = 6 * 3600_000;

const message = (err: unknown) => (err as Error).message;

/**
 * One allocation: a session and its job. A kernel allocation keeps its session id when its kernel
 * restarts after the job ended (the companion submits the session again), so the id alone would
 * take the new job's first warning for a later one of the old job.
 */
const jobKey = (s: Session) => `${s.id} ${s.jobId ?? ''}`;

/**
 * Walltime without loss for remote kernels: at the first walltime warning of a kernel allocation
 * whose profile opts in (`checkpoint: true`), each open notebook whose kernel runs in that job
 * saves its variables (dill, one by one, on the cluster); one notification per allocation says
 * what was saved and what could not be, and offers "Continue in a new session": stop the job,
 * restart the kernels in a new allocation, put the variables back.
 */
export class KernelCheckpoints {
  private readonly allocations = new Map<string, Allocation>();
  /** Allocations (session and job) whose first walltime warning came: later ones only warn (SessionNotifier). */
  private readonly warned = new Set<string>();
  /** One operation at a time per notebook: a checkpoint never runs between a restart and its restore. */
  private readonly locks = new WeakMap<ISessionContext, Promise<unknown>>();

  constructor(
    private readonly model: IHpclabModel,
    private readonly host: CheckpointHost,
    private readonly ops: KernelOps,
    private readonly trans: Words,
    private readonly now: () => number = Date.now
  ) {}

  /** Live events: the first walltime warning of each session. */
  onEvent(event: LiveEvent): void {
    if (event.type !== 'walltime-warning' || !event.session) return;
    const s = event.session;
    if (this.warned.has(jobKey(s))) return;
    this.warned.add(jobKey(s));
    const profile = this.model.profiles.find(p => p.name === s.profile && p.cluster === s.cluster);
    // Continuing it from the command already: that has saved what there is.
    if (s.kind === 'kernel' && profile?.checkpoint && !this.allocations.has(jobKey(s)))
      void this.saveAtWarning(s, Date.parse(event.endsAt));
    else if (s.kind === 'lab' && (profile?.workspace || profile?.checkpoint))
      offerLabContinue(this.model, s, this.trans, this.now);
  }

  /** `hpclab:continue-kernel`: the current notebook's allocation, with every notebook open on it. */
  async continueCurrent(): Promise<void> {
    const note = new LiveNotification();
    const nb = this.host.current();
    const remote = nb && remoteKernelOf(nb, this.host.specs(), this.model.kernelspecs);
    if (!nb || !remote) {
      note.show(
        this.trans.__('Continue in a new session: the current tab is not a notebook on an hpclab remote kernel.'),
        'error'
      );
      return;
    }
    note.show(this.trans.__('Finding the allocation of %1…', nb.name), 'in-progress');
    let job: string | null;
    try {
      job = (await this.ops.probe(await this.ops.ready(nb.sessionContext, ANSWER_MS))).job;
    } catch (err) {
      note.show(this.trans.__('Cannot continue %1: its kernel did not answer (%2).', nb.name, message(err)), 'error');
      return;
    }
    const find = () =>
      this.model.sessions.find(s => s.kind === 'kernel' && s.cluster === remote.cluster && s.jobId === job);
    let session = find();
    if (!session) {
      // The list may predate the allocation: ask once more; a failed refresh shows in the sidebar.
      await this.model.refresh().catch((err: unknown) => console.warn('hpclab: refresh before continuing failed', err));
      session = find();
    }
    if (!session) {
      note.show(
        this.trans.__(
          'Cannot continue %1: its kernel runs in job %2, which is not a kernel allocation hpclab knows.',
          nb.name,
          job ?? '?'
        ),
        'error'
      );
      return;
    }
    let allocation = this.allocations.get(jobKey(session));
    if (allocation) {
      // The allocation's own notification goes on from here.
      note.dismiss();
    } else {
      allocation = { session, note, members: new Map(), continuing: false };
      this.allocations.set(jobKey(session), allocation);
    }
    // Its kernel just said it runs in this job: no need to ask again who is in it.
    if (!allocation.members.has(nb.path)) allocation.members.set(nb.path, this.member(nb));
    await this.continueAllocation(allocation);
  }

  /** Open notebooks whose kernelspec runs with the session's profile on its cluster. */
  private candidates(s: Session): OpenNotebook[] {
    return this.host.notebooks().filter(nb => {
      const remote = remoteKernelOf(nb, this.host.specs(), this.model.kernelspecs);
      return remote?.profile === s.profile && remote.cluster === s.cluster;
    });
  }

  private member(nb: OpenNotebook): Member {
    return { nb, name: nb.name, path: checkpointPath(checkpointKey(nb.path, this.host.root)) };
  }

  /** Runs `task` once the notebook's earlier operations are done, whatever their outcome. */
  private locked<T>(nb: OpenNotebook, task: () => Promise<T>): Promise<T> {
    const before = this.locks.get(nb.sessionContext) ?? Promise.resolve();
    const run = before.then(task, task);
    // The lock only orders operations: each caller handles its own outcome from `run`.
    const settled = run.catch(() => undefined);
    this.locks.set(nb.sessionContext, settled);
    return run;
  }

  /** All the notebooks' locks, taken in path order so that two callers never wait on each other. */
  private lockedAll<T>(nbs: OpenNotebook[], task: () => Promise<T>): Promise<T> {
    const sorted = [...nbs].sort((a, b) => a.path.localeCompare(b.path));
    return sorted.reduceRight<() => Promise<T>>((inner, nb) => () => this.locked(nb, inner), task)();
  }

  private async saveAtWarning(s: Session, endsAt: number): Promise<void> {
    const candidates = this.candidates(s);
    // No notebook here runs with this profile: the walltime warning has said all there is.
    if (candidates.length === 0) return;
    const allocation: Allocation = { session: s, note: new LiveNotification(), members: new Map(), continuing: false };
    this.allocations.set(jobKey(s), allocation);
    allocation.note.show(
      this.trans.__('Saving the variables of the notebooks in job %1 to continue later…', s.jobId ?? ''),
      'in-progress'
    );
    const waitMs = Math.max(MIN_WAIT_MS, (Number.isNaN(endsAt) ? 0 : endsAt) - this.now());
    await Promise.all(candidates.map(nb => this.locked(nb, () => this.saveIfInJob(allocation, nb, waitMs))));
    this.showSaved(allocation);
  }

  /** Saves the notebook's variables when its kernel runs in the allocation's job. */
  private async saveIfInJob(allocation: Allocation, nb: OpenNotebook, waitMs: number): Promise<void> {
    let kernel: Kernel.IKernelConnection;
    try {
      kernel = await this.ops.ready(nb.sessionContext, waitMs);
    } catch (err) {
      // A kernel that never started holds nothing to save (and may wait for another allocation).
      console.info(
        `hpclab: not saving ${nb.path} at the walltime warning of job ${allocation.session.jobId}: ${message(err)}`
      );
      return;
    }
    // Listening from before the probe: a cell the user runs meanwhile is not missed.
    const rearm = afterNextUserRun(kernel, () => void this.saveAgain(allocation, nb));
    const m = this.member(nb);
    try {
      const { job } = await this.ops.probe(kernel);
      if (job !== allocation.session.jobId) {
        rearm.dispose();
        return;
      }
      allocation.members.set(nb.path, m);
      m.report = await this.ops.save(kernel, m.path);
    } catch (err) {
      // Said in the notification: the user decides whether to continue without it.
      allocation.members.set(nb.path, m);
      m.error = message(err);
      console.warn(`hpclab: saving the variables of ${nb.path} (job ${allocation.session.jobId}) failed`, err);
    }
    if (m.report && m.report.saved.length + Object.keys(m.report.skipped).length === 0) m.rearm = rearm;
    else rearm.dispose();
  }

  /** After the user's first run following an empty checkpoint: there is something to save now. */
  private async saveAgain(allocation: Allocation, nb: OpenNotebook): Promise<void> {
    const m = allocation.members.get(nb.path);
    if (!m || allocation.continuing) return;
    m.rearm = undefined;
    await this.locked(nb, async () => {
      if (allocation.continuing) return;
      try {
        const kernel = await this.ops.ready(nb.sessionContext, ANSWER_MS);
        m.report = await this.ops.save(kernel, m.path);
        m.error = undefined;
      } catch (err) {
        m.error = message(err);
        console.warn(`hpclab: saving the variables of ${nb.path} after its run failed`, err);
      }
    });
    this.showSaved(allocation);
  }

  private showSaved(allocation: Allocation): void {
    // Continuing has taken the notification over.
    if (allocation.continuing) return;
    const members = [...allocation.members.values()];
    // Probed, and none runs in this job: nothing to say beyond the walltime warning.
    if (members.length === 0) {
      allocation.note.show(
        this.trans.__('No notebook open here runs in job %1.', allocation.session.jobId ?? ''),
        'info',
        { autoClose: 5000 }
      );
      return;
    }
    const saved: SavedNotebook[] = members.map(m => ({ name: m.name, report: m.report, error: m.error }));
    allocation.note.show(savedMessage(saved, this.trans), savedWithLoss(saved) ? 'warning' : 'info', {
      actions: [
        {
          label: this.trans.__('Continue in a new session'),
          keepOpen: true,
          callback: () => void this.continueAllocation(allocation)
        },
        {
          label: this.trans.__('Details'),
          keepOpen: true,
          callback: () => this.host.details(this.trans.__('Saved variables'), savedDetails(saved, this.trans))
        }
      ]
    });
  }

  /** "Continue in a new session" for a kernel allocation: see continueKernels for the order. */
  private async continueAllocation(allocation: Allocation): Promise<void> {
    if (allocation.continuing) return;
    allocation.continuing = true;
    const clicked = this.now();
    const { session: s, note } = allocation;
    const oldJob = s.jobId;
    for (const m of allocation.members.values()) m.rearm?.dispose();
    note.show(this.trans.__('Finding the notebooks in job %1…', oldJob ?? ''), 'in-progress');
    const members = await this.membersNow(allocation);
    if (members.length === 0) {
      allocation.continuing = false;
      note.show(this.trans.__('No notebook open here runs in job %1 now.', oldJob ?? ''), 'warning');
      return;
    }
    const inJob = this.model.session(s.id)?.kernels ?? s.kernels;
    if (inJob !== undefined && inJob > members.length) {
      const others = inJob - members.length;
      const ok = await this.host.confirm(
        this.trans.__('Stop the other kernels in job %1?', oldJob ?? ''),
        this.trans._n(
          '%1 kernel in job %2 is not open here: it stops without saving its variables.',
          '%1 kernels in job %2 are not open here: they stop without saving their variables.',
          others,
          oldJob ?? ''
        ),
        this.trans.__('Continue')
      );
      if (!ok) {
        allocation.continuing = false;
        this.showSaved(allocation);
        return;
      }
    }
    const progress = (text: string) => note.show(text, 'in-progress');
    // The queue state of the new allocation is news only while the kernels wait for it.
    const phase = { waiting: false };
    const stopWatching = this.watchNewAllocation(s, clicked, text => phase.waiting && progress(text));
    try {
      const continued = await this.lockedAll(
        members.map(m => m.nb),
        () => continueKernels(members, oldJob, this.steps(allocation, oldJob, progress, phase), this.trans)
      );
      const text = continuedMessage(continued, this.trans);
      const clean = continued.every(c => c.report && Object.keys(c.report.failed ?? {}).length === 0);
      note.show(text, clean ? 'success' : 'warning', clean ? { autoClose: 15_000 } : {});
      const seconds = ((this.now() - clicked) / 1000).toFixed(1);
      const jobs = [...new Set(continued.map(c => c.job ?? '?'))].join(', ');
      console.info(
        `hpclab: ${text.replace(/\n/g, ' | ')} [job ${oldJob} -> ${jobs}: ${seconds} s from "Continue in a new session" to continued]`
      );
    } catch (err) {
      console.warn(`hpclab: continuing job ${oldJob} in a new session failed`, err);
      note.show(
        err instanceof ContinueError
          ? err.message
          : this.trans.__('Could not continue job %1: %2', oldJob ?? '', message(err)),
        'error'
      );
      if (err instanceof ContinueError && !err.stopped) {
        allocation.continuing = false;
        return;
      }
    } finally {
      stopWatching();
    }
    this.allocations.delete(jobKey(s));
  }

  /** The notebooks in the job now: those saved at the warning, and any other on the profile that says so. */
  private async membersNow(allocation: Allocation): Promise<Member[]> {
    const known = [...allocation.members.values()].filter(m => !m.nb.sessionContext.isDisposed);
    const others = this.candidates(allocation.session).filter(nb => !allocation.members.has(nb.path));
    const found = await Promise.all(
      others.map(nb =>
        this.locked(nb, async () => {
          try {
            const kernel = await this.ops.ready(nb.sessionContext, ANSWER_MS);
            return (await this.ops.probe(kernel)).job === allocation.session.jobId ? this.member(nb) : null;
          } catch (err) {
            // Not answering, so not known to be in the job; the kernel count check below asks the user.
            console.warn(`hpclab: cannot tell which job ${nb.path} runs in`, err);
            return null;
          }
        })
      )
    );
    for (const m of found) if (m) allocation.members.set(m.nb.path, m);
    return [...known, ...found.filter((m): m is Member => m !== null)];
  }

  /** The steps of continueKernels on real notebooks, recording each checkpoint in the allocation. */
  private steps(
    allocation: Allocation,
    oldJob: string | null,
    progress: (text: string) => void,
    phase: { waiting: boolean }
  ) {
    return {
      progress,
      save: async (m: Member) => {
        const kernel = await this.ops.ready(m.nb.sessionContext, ANSWER_MS);
        const { job, count } = await this.ops.probe(kernel);
        if (job !== oldJob) throw new Error(this.trans.__('its kernel is not in job %1 any more', oldJob ?? ''));
        // This warning's checkpoint holds everything unless the user ran a cell since.
        if (m.report && typeof count === 'number' && m.report.count === count) return;
        m.report = await this.ops.save(kernel, m.path);
        m.error = undefined;
      },
      stop: async () => {
        await this.model.api.stopSession(allocation.session.id);
      },
      restart: async (m: Member) => {
        phase.waiting = true;
        const status = m.nb.sessionContext.session?.kernel?.status;
        // Jupyter restarts a kernel whose launcher ended by itself: that restart asks for the new allocation.
        if (status === 'restarting' || status === 'autorestarting') return;
        await this.ops.restart(m.nb.sessionContext);
      },
      ready: async (m: Member) => {
        await this.ops.ready(m.nb.sessionContext, NEW_ALLOCATION_MS);
      },
      job: async (m: Member) => {
        phase.waiting = false;
        return (await this.ops.probe(await this.ops.ready(m.nb.sessionContext, ANSWER_MS))).job;
      },
      restore: async (m: Member) => this.ops.restore(await this.ops.ready(m.nb.sessionContext, ANSWER_MS), m.path)
    };
  }

  /** While the kernels wait: the new allocation's place in the queue, from the live session list. */
  private watchNewAllocation(old: Session, since: number, show: (text: string) => void): () => void {
    const onChange = () => {
      const next = this.model.sessions.find(
        s =>
          // Another session, or the same one submitted again (a kernel allocation keeps its id).
          (s.id !== old.id || s.jobId !== old.jobId) &&
          s.kind === 'kernel' &&
          s.profile === old.profile &&
          s.cluster === old.cluster &&
          (s.state === 'pending' || s.state === 'starting') &&
          Date.parse(s.createdAt) >= since - 60_000
      );
      if (!next) return;
      show(
        next.state === 'pending'
          ? this.trans.__('Waiting for a new allocation: job %1, %2…', next.jobId ?? '', pendingText(next, this.trans))
          : this.trans.__('Waiting for a new allocation: job %1 is starting on %2…', next.jobId ?? '', next.node ?? '')
      );
    };
    this.model.changed.connect(onChange);
    return () => this.model.changed.disconnect(onChange);
  }
}
