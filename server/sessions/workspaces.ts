import type { HpclabConfig, WorkspaceConfig } from '../config/schema';
import type { Logger } from '../log';
import { BACKUP_NAME, WORKSPACE_DEFAULTS, backupArgv, listArgv, restoreArgv } from '../workspace/scripts';
import type { Compressor, WorkspaceBackup, WorkspaceStatus } from '../workspace/types';
import type { SessionRegistry } from './registry';
import type { SessionRecord } from './store';
import type { ClusterAccess } from './types';

/** Why a workspace action cannot run now; `field` names what to change (the API answers 400 or 409). */
export class WorkspaceError extends Error {
  constructor(
    readonly kind: 'no-workspace' | 'not-running' | 'busy' | 'failed',
    message: string
  ) {
    super(message);
    this.name = 'WorkspaceError';
  }
}

/** A backup of 1 GB takes seconds; one of a huge workspace on a slow filesystem, many minutes. */
const BACKUP_TIMEOUT_MS = 60 * 60_000;
/** What stopping a session waits for its last backup, at most. */
const STOP_BACKUP_TIMEOUT_MS = 15 * 60_000;

/**
 * Scratch workspaces of running sessions: backups on demand, on the profile's timer, at the
 * first walltime warning and before a stop; restores and the list of backups. Each runs as a
 * job step on the session's node (`srun --overlap` into its job), through the cluster's one
 * connection. One action at a time per session: a second is refused as busy, not queued, so a
 * timer never stacks backups behind a slow one.
 */
export class SessionWorkspaces {
  private readonly status = new Map<string, WorkspaceStatus>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly warned = new Set<string>();
  /** Sessions whose restore result was read at their start. */
  private readonly restoreRead = new Set<string>();

  constructor(
    private readonly options: {
      config: HpclabConfig;
      clusters: ClusterAccess;
      registry: SessionRegistry;
      logger: Logger;
      /** Milliseconds per auto-backup minute (tests shorten it). */
      minuteMs: number;
    }
  ) {}

  /** The profile's workspace for a session, or undefined; kernel allocations have none. */
  config(record: SessionRecord): WorkspaceConfig | undefined {
    if (record.info.kind === 'kernel') return undefined;
    return this.options.config.profiles?.[record.info.profile]?.workspace;
  }

  /** What the API shows, or null for sessions without a workspace. */
  view(record: SessionRecord): WorkspaceStatus | null {
    const ws = this.config(record);
    if (!ws) return null;
    return this.status.get(record.info.id) ?? this.initial(ws);
  }

  /**
   * While a session starts, what its job wrote of the restore: `{"restoring": true}` shows as
   * restoring; the backup it restored becomes the last one known; `{"name": null}`: none yet.
   */
  startProgress(record: SessionRecord, text: string): void {
    const now = this.view(record);
    if (!now) return;
    let said: { restoring?: boolean; name?: string | null; bytes?: number };
    try {
      said = JSON.parse(text) as typeof said;
    } catch {
      return; // half written (the job writes it with one printf): the next look reads it whole
    }
    if (said.restoring) {
      if (now.state !== 'restoring') this.set(record, { ...now, state: 'restoring' });
      return;
    }
    const restored =
      typeof said.name === 'string' && BACKUP_NAME.test(said.name)
        ? { name: said.name, at: stampTime(said.name), bytes: Number(said.bytes), compressor: compressorOf(said.name) }
        : null;
    if (now.state !== 'idle' || (restored && now.lastBackup?.name !== restored.name))
      this.set(record, { ...now, state: 'idle', lastBackup: restored ?? now.lastBackup });
  }

  /** A session now runs: its auto-backup timer starts. */
  running(record: SessionRecord): void {
    const ws = this.config(record);
    // Restored by now (the job restores before its server starts): read once what it restored,
    // which a fast restore finishes between two looks of the start watcher.
    if (ws && !this.restoreRead.has(record.info.id)) {
      this.restoreRead.add(record.info.id);
      const { transport } = this.options.clusters(record.info.cluster);
      transport
        .readFile(`${record.sessionDir}/workspace-restore.json`, { maxBytes: 4096 })
        .then(b => this.startProgress(record, b.toString('utf8')))
        .catch(err =>
          this.options.logger.warn(
            `session ${record.info.id}: cannot read what its workspace restore did: ${(err as Error).message}`
          )
        );
    }
    const minutes = ws?.autoBackupMinutes ?? WORKSPACE_DEFAULTS.autoBackupMinutes;
    if (!ws || minutes === 0 || this.timers.has(record.info.id)) return;
    const id = record.info.id;
    const timer = setInterval(() => {
      this.backup(id, 'auto').catch(err => {
        // Logged with the reason; the status shows it to the user too. The next tick tries again.
        if (!(err instanceof WorkspaceError && err.kind === 'busy'))
          this.options.logger.warn(`session ${id}: auto-backup of the workspace failed: ${(err as Error).message}`);
      });
    }, minutes * this.options.minuteMs);
    timer.unref();
    this.timers.set(id, timer);
  }

  /** A session ended: nothing more to back up. */
  ended(id: string): void {
    clearInterval(this.timers.get(id));
    this.timers.delete(id);
    this.warned.delete(id);
    this.restoreRead.delete(id);
  }

  /** The first walltime warning backs the workspace up; later ones do not (one backup is enough). */
  walltimeWarning(id: string): void {
    const record = this.options.registry.records.get(id);
    if (!record || !this.config(record) || this.warned.has(id)) return;
    this.warned.add(id);
    this.backup(id, 'walltime').catch(err =>
      this.options.logger.warn(
        `session ${id}: the workspace backup at the walltime warning failed: ${(err as Error).message}`
      )
    );
  }

  /** Before a stop: a last backup of a running session's workspace, bounded; a failure is logged and does not block the stop. */
  async beforeStop(record: SessionRecord): Promise<void> {
    if (!this.config(record) || record.info.state !== 'running') return;
    const id = record.info.id;
    await this.backup(id, 'stop', STOP_BACKUP_TIMEOUT_MS).catch(err =>
      this.options.logger.warn(`session ${id}: the workspace backup before the stop failed: ${(err as Error).message}`)
    );
  }

  /** Backs the workspace up now; resolves with the backup made. */
  async backup(
    id: string,
    why: 'request' | 'auto' | 'walltime' | 'stop' = 'request',
    timeoutMs = BACKUP_TIMEOUT_MS
  ): Promise<WorkspaceBackup> {
    const { record, ws } = this.usable(id);
    const ws2 = { ...this.args(ws) };
    return this.act(record, 'backing-up', async () => {
      this.options.logger.info(`session ${id}: backing up the workspace ${ws.dir} to ${ws.backupDir} (${why})`);
      const out = await this.step(record, backupArgv(ws2), timeoutMs);
      const made: WorkspaceBackup = {
        name: String(out.name),
        at: stampTime(String(out.name)),
        bytes: Number(out.bytes),
        compressor: ws2.compressor,
        seconds: Number(out.ms) / 1000,
        sourceBytes: Number(out.sourceBytes)
      };
      this.options.logger.info(
        `session ${id}: workspace backed up as ${made.name} (${made.bytes} bytes from ${made.sourceBytes}, ${made.seconds} s)`
      );
      return made;
    });
  }

  /** Restores backup `name` (default the newest) into the running session's workspace. */
  async restore(id: string, name?: string): Promise<WorkspaceBackup | null> {
    const { record, ws } = this.usable(id);
    if (name !== undefined && !BACKUP_NAME.test(name))
      throw new WorkspaceError(
        'failed',
        `no backup named ${JSON.stringify(name)}: names look like workspace-20261206T081500Z.tar.zst`
      );
    const found = await this.act(record, 'restoring', async () => {
      const out = await this.step(record, restoreArgv(ws, name ?? ''), BACKUP_TIMEOUT_MS);
      if (out.name === null) return null;
      return {
        name: String(out.name),
        at: stampTime(String(out.name)),
        bytes: Number(out.bytes),
        compressor: compressorOf(String(out.name)),
        seconds: Number(out.ms) / 1000
      };
    });
    return found;
  }

  /** The backups on shared storage, newest first (read on the login node: no job step needed). */
  async list(id: string): Promise<WorkspaceBackup[]> {
    const record = this.options.registry.require(id);
    const ws = this.config(record);
    if (!ws) throw noWorkspace(record);
    const { transport } = this.options.clusters(record.info.cluster);
    const r = await transport.exec(listArgv(ws), { timeoutMs: 30_000 });
    if (r.code !== 0)
      throw new WorkspaceError('failed', `cannot list ${ws.backupDir}: ${r.stderr.trim() || `exit ${r.code}`}`);
    return parseBackupList(r.stdout);
  }

  close(): void {
    for (const timer of this.timers.values()) clearInterval(timer);
    this.timers.clear();
  }

  private initial(ws: WorkspaceConfig): WorkspaceStatus {
    return {
      dir: ws.dir,
      backupDir: ws.backupDir,
      autoBackupMinutes: ws.autoBackupMinutes ?? WORKSPACE_DEFAULTS.autoBackupMinutes,
      state: 'idle',
      lastBackup: null,
      error: null
    };
  }

  private args(ws: WorkspaceConfig) {
    const compressor = ws.compressor ?? WORKSPACE_DEFAULTS.compressor;
    // lz4's levels stop at 12; a profile written for zstd's 19 means "its slowest".
    const level = Math.min(ws.level ?? WORKSPACE_DEFAULTS.level, compressor === 'lz4' ? 12 : 19);
    return { dir: ws.dir, backupDir: ws.backupDir, compressor, level, keep: ws.keep ?? WORKSPACE_DEFAULTS.keep };
  }

  private usable(id: string): { record: SessionRecord; ws: WorkspaceConfig } {
    const record = this.options.registry.require(id);
    const ws = this.config(record);
    if (!ws) throw noWorkspace(record);
    if (record.info.state !== 'running' || !record.info.jobId)
      throw new WorkspaceError(
        'not-running',
        `session ${id} is ${record.info.state}: its workspace is on a node only while it runs`
      );
    return { record, ws };
  }

  /** Runs one action with the status showing it; a second while one runs is refused. */
  private async act<T extends WorkspaceBackup | null>(
    record: SessionRecord,
    state: 'backing-up' | 'restoring',
    run: () => Promise<T>
  ): Promise<T> {
    const id = record.info.id;
    const now = this.view(record)!;
    if (now.state !== 'idle')
      throw new WorkspaceError(
        'busy',
        `session ${id}'s workspace is ${now.state.replace('-', ' ')} now; try again when it is done`
      );
    this.set(record, { ...now, state });
    try {
      const result = await run();
      const after = this.view(record)!;
      this.set(record, { ...after, state: 'idle', error: null, lastBackup: result ?? after.lastBackup });
      return result;
    } catch (err) {
      const message = (err as Error).message;
      this.set(record, { ...this.view(record)!, state: 'idle', error: message });
      throw err instanceof WorkspaceError ? err : new WorkspaceError('failed', message);
    }
  }

  private set(record: SessionRecord, status: WorkspaceStatus): void {
    this.status.set(record.info.id, status);
    this.options.registry.emit({ type: 'session', session: record.info });
  }

  /** Runs `argv` on the session's node inside its job; resolves with the JSON line it printed. */
  private async step(record: SessionRecord, argv: string[], timeoutMs: number): Promise<Record<string, unknown>> {
    const { transport } = this.options.clusters(record.info.cluster);
    const r = await transport.exec(
      [
        'srun',
        `--jobid=${record.info.jobId}`,
        '--overlap',
        '--nodes=1',
        '--ntasks=1',
        '--quiet',
        '--job-name=hpclab-workspace',
        ...argv
      ],
      { timeoutMs, maxOutputBytes: 1 << 20 }
    );
    const words = r.stderr
      .split('\n')
      .filter(l => l.startsWith('hpclab:') || /error/i.test(l))
      .join(' ')
      .trim();
    if (r.code !== 0) throw new WorkspaceError('failed', words || `the workspace step exited ${r.code ?? r.signal}`);
    const line = r.stdout.trim().split('\n').pop() ?? '';
    try {
      return JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw new WorkspaceError('failed', `the workspace step printed no result (${line.slice(0, 200) || 'nothing'})`);
    }
  }
}

function noWorkspace(record: SessionRecord): WorkspaceError {
  return new WorkspaceError(
    'no-workspace',
    `profile ${record.info.profile} has no workspace: add "workspace": {"dir": "$TMPDIR/work", "backupDir": "~/hpclab-backups/work"} to it`
  );
}

function compressorOf(name: string): Compressor {
  return name.endsWith('.zst') ? 'zstd' : name.endsWith('.lz4') ? 'lz4' : 'none';
}

/** `workspace-20261206T081500Z…` → `2026-12-06T08:15:00.000Z`. */
function stampTime(name: string): string {
  const m = /^workspace-(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z/.exec(name);
  return m ? new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`).toISOString() : new Date(0).toISOString();
}

/** `find -printf '%f %s\n'` lines → backups, newest first; other files are not ours and are left out. */
export function parseBackupList(stdout: string): WorkspaceBackup[] {
  return stdout
    .split('\n')
    .map(line => /^(\S+) (\d+)$/.exec(line.trim()))
    .filter((m): m is RegExpExecArray => m !== null && BACKUP_NAME.test(m[1]))
    .map(m => ({ name: m[1], at: stampTime(m[1]), bytes: Number(m[2]), compressor: compressorOf(m[1]) }))
    .sort((a, b) => b.name.localeCompare(a.name));
}
