import type { ProfileConfig } from '../config/schema';
import type { SessionManager } from '../sessions/manager';
import { isFinal } from '../sessions/reconcile';
import type { ClusterAccess, SessionInfo } from '../sessions/types';
import { kernelNames } from './kernel-step';

/** What the choice needs to know of a kernel. */
export interface KernelPlace {
  id: string;
  cluster: string;
  profile: string;
  /** The allocation it ran in before, if any. */
  allocation: string | undefined;
  /** New to this companion: it may be running in an allocation already, named by its files. */
  adopt: boolean;
}

/**
 * Which allocation each remote kernel runs in. A kernel of a profile whose kernels share
 * (`kernels.perAllocation` > 1) joins one of that profile's allocations with room, running or
 * still pending (claims count at once, so two notebooks opened together share one); otherwise,
 * and when none has room, it gets a new allocation under its own id. An allocation its last
 * kernel left is held for the next notebook until a timer ends.
 */
export class SharedAllocations {
  /** Allocations being submitted right now, so a neighbour can join before squeue knows them. */
  private readonly creating = new Map<string, Promise<SessionInfo>>();
  /** Allocations with no kernel left, held until their timer fires. */
  private readonly holds = new Map<string, NodeJS.Timeout>();
  /**
   * Allocations whose hold ran out and are being cancelled: Slurm still lists them (completing)
   * for a while, and a kernel that joined one would die with it.
   */
  private readonly closing = new Set<string>();

  constructor(
    private readonly o: {
      sessions: SessionManager;
      clusters: ClusterAccess;
      /** The kernels in allocation `id` now (attached, or waiting for their next launcher). */
      members: (id: string) => KernelPlace[];
      /** Every kernel the service knows, for the allocations they claimed. */
      kernels: () => Iterable<KernelPlace>;
    }
  ) {}

  /**
   * The allocation for `kernel`: the one it ran in before (a restart), one of its profile's
   * with room, or a new one under its own id (`joined: false`: the caller submits it).
   */
  async choose(kernel: KernelPlace, perAllocation: number): Promise<{ id: string; joined: boolean }> {
    const { sessions } = this.o;
    const before = kernel.allocation ?? kernel.id;
    if (this.alive(before)) return { id: before, joined: before !== kernel.id };
    if (perAllocation <= 1) return { id: kernel.id, joined: false };
    const candidates = new Set<string>();
    for (const info of sessions.list())
      if (info.kind === 'kernel' && this.sameProfile(info, kernel) && this.alive(info.id)) candidates.add(info.id);
    for (const other of this.o.kernels())
      if (other !== kernel && other.allocation && this.sameProfile(other, kernel) && this.alive(other.allocation))
        candidates.add(other.allocation);
    // Running ones first: a kernel there is ready in seconds.
    const ordered = [...candidates].sort(
      (a, b) => Number(sessions.get(b)?.state === 'running') - Number(sessions.get(a)?.state === 'running')
    );
    if (kernel.adopt) {
      // A companion restarted: the kernel may be running in one of them, named by its own files.
      for (const id of ordered) {
        if (sessions.get(id)?.state !== 'running') continue;
        const file = `${sessions.sessionDir(id)}/${kernelNames({ kernelId: kernel.id, allocationId: id }).current}`;
        const there = await this.o
          .clusters(kernel.cluster)
          .transport.readFile(file)
          .then(() => true)
          .catch(() => false); // not there (or unreadable): not this kernel's allocation
        if (there) return { id, joined: true };
      }
    }
    const roomy = ordered.find(id => this.o.members(id).length < perAllocation);
    if (roomy === undefined) return { id: kernel.id, joined: false };
    this.unhold(roomy);
    return { id: roomy, joined: true };
  }

  /** Submits the allocation a kernel was given (`joined: false`). */
  create(id: string, profile: string, cluster: string): Promise<SessionInfo> {
    const creating = this.o.sessions.create({ kind: 'kernel', id, profile, cluster });
    this.creating.set(id, creating);
    const forget = () => {
      if (this.creating.get(id) === creating) this.creating.delete(id);
    };
    creating.then(forget, forget);
    return creating;
  }

  /** A joined allocation's session, waiting for its submission when a neighbour is making it right now. */
  async info(id: string): Promise<SessionInfo> {
    const info = this.o.sessions.get(id) ?? (await this.creating.get(id));
    if (!info) throw new Error(`allocation ${id} is gone`);
    return info;
  }

  /** Holds an allocation its last kernel left; `release` runs after `ms` unless a kernel joins first. */
  hold(id: string, ms: number, release: () => void): void {
    this.unhold(id);
    const timer = setTimeout(() => {
      this.holds.delete(id);
      if (this.o.members(id).length > 0) return;
      this.closing.add(id);
      release();
    }, ms);
    timer.unref();
    this.holds.set(id, timer);
  }

  /** Allocations held for the next notebook: still wanted, so their heartbeat goes on. */
  held(): string[] {
    return [...this.holds.keys()];
  }

  close(): void {
    for (const timer of this.holds.values()) clearTimeout(timer);
    this.holds.clear();
  }

  private unhold(id: string): void {
    clearTimeout(this.holds.get(id));
    this.holds.delete(id);
  }

  private alive(id: string): boolean {
    const info = this.o.sessions.get(id);
    if (!info) return this.creating.has(id);
    if (isFinal(info.state)) {
      this.closing.delete(id); // gone for good: an allocation under this id again is a new one
      return false;
    }
    return info.state !== 'ending' && !this.closing.has(id);
  }

  private sameProfile(a: { cluster: string; profile: string }, b: { cluster: string; profile: string }): boolean {
    return a.cluster === b.cluster && a.profile === b.profile;
  }
}

/** Whether the profile's kernels share allocations (and then each takes its declared share). */
export function sharesAllocations(profile: ProfileConfig): boolean {
  return (profile.kernels?.perAllocation ?? 1) > 1;
}
