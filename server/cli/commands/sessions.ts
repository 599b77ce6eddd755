import * as os from 'node:os';
import * as path from 'node:path';
import { statePaths } from '../../config/paths';
import { SessionStore } from '../../sessions/store';
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

export const sessionsCommand = defineCommand({
  name: 'sessions',
  summary: 'List sessions, or stop one (cancels its job, also while pending)',
  usage: ['hpclab sessions [list] [--json] [--config FILE]', 'hpclab sessions stop ID [--json] [--config FILE]'],
  description:
    "Lists your sessions (Lab sessions and kernel allocations) with state, job, node and time left, as the running companion knows them (else as last saved). stop cancels the session's job in any state, pending included.",
  flags: {
    json: { type: 'boolean', description: 'print the sessions (or the stopped session) as JSON' }
  },
  arguments: [
    { name: 'list|stop', description: 'list the sessions (the default) or stop one' },
    { name: 'ID', description: "the session to stop, as 'hpclab sessions' lists it" }
  ],
  examples: [
    { description: 'My sessions and their time left', command: 'hpclab sessions' },
    { description: 'Stop one, cancelling its Slurm job', command: 'hpclab sessions stop 3f9a2b1c4d5e' }
  ],
  env: ['HPCLAB_CONFIG', 'XDG_CONFIG_HOME', 'XDG_STATE_HOME', 'XDG_RUNTIME_DIR', 'SSH_AUTH_SOCK', 'SHELL'],
  async run({ values, positionals }) {
    const [action = 'list', id, ...extra] = positionals;
    if (action !== 'list' && action !== 'stop')
      throw new UsageError(
        `unknown sessions action "${action}"${didYouMean(action, ['list', 'stop'])}: use list or stop, e.g. hpclab sessions stop ID`
      );
    if (action === 'stop' && (!id || !ID.test(id)))
      throw new UsageError(
        `ID: expected a session id as listed by 'hpclab sessions list', got ${JSON.stringify(id ?? '')}`
      );
    if (extra.length || (action === 'list' && id))
      throw new UsageError(
        `unexpected ${[id, ...extra].filter(Boolean).join(' ')}: ${action === 'list' ? 'list takes no arguments' : 'stop one session at a time'}`
      );
    const companion = await findCompanion();
    if (action === 'list') {
      // The running companion knows best; without one, the store says what was last seen.
      const sessions = companion
        ? await companion.request<SessionInfo[]>('GET', '/hpclab/api/sessions')
        : await new SessionStore(path.join(statePaths(process.env, os.homedir()).stateDir, 'sessions.json'))
            .load()
            .then(rs => rs.map(r => r.info));
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
