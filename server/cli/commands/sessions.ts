import * as os from 'node:os';
import * as path from 'node:path';
import { statePaths } from '../../config/paths';
import { describeAccess } from '../../sessions/access';
import { SessionStore, type SessionRecord } from '../../sessions/store';
import type { SessionInfo } from '../../sessions/types';
import { findCompanion } from '../companion-client';
import { openContext, UsageError } from '../context';
import { duration, table } from '../format';
import { defineCommand } from '../args';
import { didYouMean } from '../suggest';
import { startCompanion } from '../../main';

const ID = /^[a-z0-9]{6,32}$/;

export function sessionsTable(sessions: SessionInfo[]): string {
  if (sessions.length === 0) return 'No sessions.';
  return table(
    ['ID', 'PROFILE', 'CLUSTER', 'STATE', 'JOB', 'NODE', 'LEFT', 'DETAIL'],
    sessions.map(s => [
      s.id,
      s.profile,
      s.cluster,
      s.state,
      s.jobId ?? '-',
      s.node ?? '-',
      s.state === 'running' && s.endsAt
        ? duration(Math.max(0, Math.round((Date.parse(s.endsAt) - Date.now()) / 1000)))
        : '-',
      s.state === 'pending'
        ? `${s.pending?.reason ?? ''}${s.pending?.position ? ` #${s.pending.position}` : ''}`
        : (s.endReason ?? '')
    ])
  );
}

/** One session, field by field, with how the companion reaches it (for an admin's audit). */
export function sessionDetail(s: SessionInfo): string {
  const left =
    s.state === 'running' && s.endsAt
      ? `, ${duration(Math.max(0, Math.round((Date.parse(s.endsAt) - Date.now()) / 1000)))} left`
      : '';
  const rows: [string, string | null | undefined][] = [
    ['Session', s.id],
    [
      'Kind',
      s.kind === 'lab' ? 'JupyterLab on a node' : s.kind === 'alloc' ? 'held node (hpclab alloc)' : 'kernel allocation'
    ],
    ['Profile', `${s.profile} on ${s.cluster}`],
    ['State', `${s.state}${s.endReason ? ` (${s.endReason})` : ''}${left}`],
    ['Job', s.jobId],
    ['Node', s.node],
    [
      'Pending',
      s.pending ? `${s.pending.reason ?? 'waiting'}${s.pending.position ? `, #${s.pending.position}` : ''}` : null
    ],
    ['Created', s.createdAt],
    ['Started', s.startedAt],
    ['Ends', s.endsAt],
    ['Reached via', s.access?.summary ?? (s.state === 'running' ? 'not known yet' : null)],
    ['Relay', s.access?.relay ?? null],
    ['Message', s.message]
  ];
  const shown = rows.filter((row): row is [string, string] => typeof row[1] === 'string' && row[1] !== '');
  const width = Math.max(...shown.map(([k]) => k.length));
  return shown.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}

export const sessionsCommand = defineCommand({
  name: 'sessions',
  summary: 'List sessions, show one (and how it is reached), or stop one',
  usage: [
    'hpclab sessions [list] [--json] [--config FILE]',
    'hpclab sessions show ID [--json] [--config FILE]',
    'hpclab sessions stop ID [--json] [--config FILE]'
  ],
  description:
    "Lists your sessions (Lab sessions and kernel allocations) with state, job, node and time left, as the running companion knows them (else as last saved). show prints one session in full, with how the companion reaches its node: a unix socket in the job's private directory through a relay step (no TCP port that other cluster users could connect to), or a TCP port. stop cancels the session's job in any state, pending included.",
  flags: {
    json: { type: 'boolean', description: 'print the sessions (or the one shown or stopped) as JSON' }
  },
  arguments: [
    { name: 'list|show|stop', description: 'list the sessions (the default), show one, or stop one' },
    { name: 'ID', description: "the session to show or stop, as 'hpclab sessions' lists it" }
  ],
  examples: [
    { description: 'My sessions and their time left', command: 'hpclab sessions' },
    { description: 'One session, and how its node is reached', command: 'hpclab sessions show 3f9a2b1c4d5e' },
    { description: 'Stop one, cancelling its Slurm job', command: 'hpclab sessions stop 3f9a2b1c4d5e' }
  ],
  env: ['HPCLAB_CONFIG', 'XDG_CONFIG_HOME', 'XDG_STATE_HOME', 'XDG_RUNTIME_DIR', 'SSH_AUTH_SOCK', 'SHELL'],
  async run({ values, positionals }) {
    const [action = 'list', id, ...extra] = positionals;
    if (action !== 'list' && action !== 'stop' && action !== 'show')
      throw new UsageError(
        `unknown sessions action "${action}"${didYouMean(action, ['list', 'show', 'stop'])}: use list, show or stop, e.g. hpclab sessions show ID`
      );
    if (action !== 'list' && (!id || !ID.test(id)))
      throw new UsageError(
        `ID: expected a session id as listed by 'hpclab sessions list', got ${JSON.stringify(id ?? '')}`
      );
    if (extra.length || (action === 'list' && id))
      throw new UsageError(
        `unexpected ${[id, ...extra].filter(Boolean).join(' ')}: ${action === 'list' ? 'list takes no arguments' : `${action} one session at a time`}`
      );
    const companion = await findCompanion();
    if (action === 'show') {
      const session = companion
        ? await companion.request<SessionInfo>('GET', `/hpclab/api/sessions/${id}`)
        : savedSession(
            (await loadSaved()).find(r => r.info.id === id),
            id!
          );
      process.stdout.write(values.json ? JSON.stringify(session, null, 2) + '\n' : sessionDetail(session) + '\n');
      return 0;
    }
    if (action === 'list') {
      // The running companion knows best; without one, the store says what was last seen.
      const sessions = companion
        ? await companion.request<SessionInfo[]>('GET', '/hpclab/api/sessions')
        : (await loadSaved()).map(r => r.info);
      process.stdout.write(values.json ? JSON.stringify(sessions, null, 2) + '\n' : sessionsTable(sessions) + '\n');
      return 0;
    }
    let stopped: SessionInfo;
    if (companion) {
      stopped = await companion.request<SessionInfo>('DELETE', `/hpclab/api/sessions/${id}`);
    } else {
      const ctx = await openContext(values.config);
      await ctx.clusters.close();
      const local = await startCompanion({ config: ctx.config });
      try {
        stopped = await local.sessions.stop(id!);
      } finally {
        await local.close();
      }
    }
    process.stdout.write(values.json ? JSON.stringify(stopped) + '\n' : `session ${id}: ${stopped.state}\n`);
    return 0;
  }
});

/** The sessions as last saved, when no companion runs. */
function loadSaved(): Promise<SessionRecord[]> {
  return new SessionStore(path.join(statePaths(process.env, os.homedir()).stateDir, 'sessions.json')).load();
}

/** A saved session with how it was reached (no companion: no relay runs now). */
function savedSession(record: SessionRecord | undefined, id: string): SessionInfo {
  if (!record) throw new UsageError(`ID: no session ${id}: 'hpclab sessions list' shows the ones there are`);
  return {
    ...record.info,
    access: describeAccess(record, { state: 'down', starts: 0, lastError: null, bulk: 'untried', bulkError: null })
  };
}
