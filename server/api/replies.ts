import type { WorkspaceBackup, WorkspaceStatus } from '../workspace/types';
import type { NodeSummary } from '../scheduler/types';
import type * as wire from '../../src/contract';
import type { DiscoveredEnv } from '../kernels/discovery';
import type { HpclabKernelspec } from '../kernels/kernelspec';
import type { KernelLeaseEvent } from '../kernels/kernel-lease';
import type { HistoryJob, Job, PartitionSummary } from '../scheduler/types';
import type { SessionEvent, SessionInfo } from '../sessions/types';
import { countIndexes } from '../runs/follow';
import type { ClusterHistory, ClusterStatus, PlannedRun, ProfileView, RunView, SubmittedRun } from './services';

/*
 * Internal records → the replies of the contract (src/contract). Each field is copied by name,
 * so a field added to an internal type stays inside until it is added to the contract too, and
 * the contract test (test/unit/api/contract.test.ts) checks every reply against the schema.
 */

const iso = (date: Date | null): string | null => (date ? date.toISOString() : null);

export function jobReply(job: Job): wire.Job {
  return {
    id: job.id,
    arrayJobId: job.arrayJobId,
    arrayTaskId: job.arrayTaskId,
    name: job.name,
    user: job.user,
    state: job.state,
    reason: job.reason,
    partition: job.partition,
    nodes: job.nodes,
    numNodes: job.numNodes,
    numCpus: job.numCpus,
    timeUsed: job.timeUsed,
    timeLimit: job.timeLimit,
    timeLeft: job.timeLeft,
    submitTime: iso(job.submitTime),
    startTime: iso(job.startTime),
    gres: job.gres
  };
}

export function partitionReply(p: PartitionSummary): wire.Partition {
  const { idle, mixed, allocated, down, other, total } = p.nodes;
  return {
    name: p.name,
    isDefault: p.isDefault,
    available: p.available,
    timeLimit: p.timeLimit,
    nodes: { idle, mixed, allocated, down, other, total },
    cpus: { total: p.cpus.total, allocated: p.cpus.allocated, idle: p.cpus.idle },
    gpus: p.gpus.map(g => ({ type: g.type, total: g.total, used: g.used }))
  };
}

export function clusterStatusReply(status: ClusterStatus): wire.ClusterStatus {
  return {
    cluster: status.cluster,
    fetchedAt: status.fetchedAt,
    partitions: status.partitions.map(partitionReply),
    jobs: status.jobs.map(jobReply),
    ...(status.error !== undefined ? { error: status.error } : {})
  };
}

export function sessionReply(s: SessionInfo): wire.Session {
  return {
    id: s.id,
    kind: s.kind,
    cluster: s.cluster,
    profile: s.profile,
    state: s.state,
    jobId: s.jobId,
    pending: s.pending && {
      reason: s.pending.reason,
      position: s.pending.position,
      estimatedStart: s.pending.estimatedStart
    },
    node: s.node,
    createdAt: s.createdAt,
    startedAt: s.startedAt,
    endsAt: s.endsAt,
    endedAt: s.endedAt,
    endReason: s.endReason,
    message: s.message,
    baseUrl: s.baseUrl,
    access: s.access ? { kind: s.access.kind, summary: s.access.summary, relay: s.access.relay } : null,
    ...(s.kernels !== undefined ? { kernels: s.kernels } : {}),
    ...(s.workspace !== undefined ? { workspace: s.workspace && workspaceReply(s.workspace) } : {})
  };
}

export function workspaceBackupReply(b: WorkspaceBackup): wire.WorkspaceBackup {
  return {
    name: b.name,
    at: b.at,
    bytes: b.bytes,
    compressor: b.compressor,
    ...(b.seconds !== undefined ? { seconds: b.seconds } : {}),
    ...(b.sourceBytes !== undefined ? { sourceBytes: b.sourceBytes } : {})
  };
}

function workspaceReply(w: WorkspaceStatus): wire.WorkspaceStatus {
  return {
    dir: w.dir,
    backupDir: w.backupDir,
    autoBackupMinutes: w.autoBackupMinutes,
    state: w.state,
    lastBackup: w.lastBackup && workspaceBackupReply(w.lastBackup),
    error: w.error
  };
}

export function clusterNodeReply(n: NodeSummary): wire.ClusterNode {
  return {
    name: n.name,
    state: n.state,
    partitions: [...n.partitions],
    cpus: { total: n.cpus.total, allocated: n.cpus.allocated },
    // sinfo's fields carry no memory or features; the contract keeps room for a source that does.
    memMB: null,
    gpus: n.gpus.map(g => ({ type: g.type, total: g.total, used: g.used })),
    features: []
  };
}

export function sessionEventReply(event: SessionEvent): wire.LiveEvent {
  return event.type === 'session' ? { type: 'session', session: sessionReply(event.session) } : event;
}

export function kernelLeaseEventReply(event: KernelLeaseEvent): wire.KernelLeaseEvent {
  return event.type === 'progress'
    ? { type: 'progress', message: event.message, session: sessionReply(event.session) }
    : event;
}

export function profileReply(p: ProfileView): wire.Profile {
  return { ...p };
}

export function kernelspecReply(spec: HpclabKernelspec): wire.Kernelspec {
  const { profile, cluster, env } = spec.metadata;
  return {
    name: spec.name,
    displayName: spec.displayName,
    metadata: { profile, cluster, ...(env !== undefined ? { env } : {}) },
    path: spec.path
  };
}

export function envReply(env: DiscoveredEnv): wire.DiscoveredEnv {
  return {
    kind: env.kind,
    name: env.name,
    prefix: env.prefix,
    python: env.python,
    pythonVersion: env.pythonVersion,
    ipykernel: env.ipykernel,
    env: { ...env.env }
  };
}

export function runReply(view: RunView): wire.Run {
  const m = view.manifest;
  return {
    cluster: view.cluster,
    runId: view.runId,
    file: m.file,
    kind: m.kind,
    profile: m.profile,
    jobId: m.jobId ?? null,
    createdAt: m.createdAt,
    taskCount: m.params?.length ?? (m.array ? countIndexes(m.array) : null),
    params: m.params,
    tasks:
      view.tasks?.map(t => ({
        jobId: t.jobId,
        taskId: t.taskId,
        state: t.state,
        exitCode: t.exitCode,
        node: t.node,
        runTime: t.runTime,
        reason: t.reason
      })) ?? null
  };
}

export function runPreviewReply(planned: PlannedRun): wire.RunPreview {
  return {
    cluster: planned.cluster,
    runDir: planned.runDir,
    argv: planned.argv,
    script: planned.plan.script,
    taskCount: planned.taskCount
  };
}

export function submittedRunReply(run: SubmittedRun): wire.SubmittedRun {
  return {
    cluster: run.cluster,
    runId: run.runId,
    runDir: run.runDir,
    jobId: run.jobId,
    taskCount: run.taskCount,
    log: run.log,
    warning: run.warning ?? null
  };
}

export function historyJobReply(job: HistoryJob): wire.HistoryJob {
  return {
    jobId: job.jobId,
    name: job.name,
    partition: job.partition,
    state: job.state,
    exitCode: job.exitCode,
    elapsed: job.elapsedSeconds,
    submitTime: iso(job.submit),
    startTime: iso(job.start),
    endTime: iso(job.end),
    cpus: job.cpus,
    cpuEfficiency: job.cpuEfficiency,
    memRequested: job.reqMemBytes,
    memPeak: job.maxRssBytes,
    memEfficiency: job.memEfficiency,
    gpus: job.gpus,
    nodes: job.nodes
  };
}

export function historyReply(history: ClusterHistory): wire.History {
  return {
    cluster: history.cluster,
    since: history.since,
    accounting: history.accounting,
    ...(history.message !== undefined ? { message: history.message } : {}),
    jobs: history.jobs.map(historyJobReply)
  };
}
