import * as os from 'node:os';
import * as path from 'node:path';
import { statePaths } from '../../config/paths';
import { SessionStore } from '../../sessions/store';
import type { SessionInfo } from '../../sessions/types';
import { findCompanion } from '../companion-client';
import { openContext, UsageError } from '../context';
import { duration, table } from '../format';
import { parseCommandArgs, type Command } from '../args';
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
      s.state === 'running' && s.endsAt ? duration(Math.max(0, Math.round((Date.parse(s.endsAt) - Date.now()) / 1000))) : '-',
      s.state === 'pending' ? `${s.pending?.reason ?? ''}${s.pending?.position ? ` #${s.pending.position}` : ''}` : (s.endReason ?? '')
    ])
  );
}

export const sessionsCommand: Command = {
  name: 'sessions',
  summary: 'List sessions, or stop one (cancels its job, also while pending)',
  usage: 'hpclab sessions [list] [--json] [--config FILE]\n       hpclab sessions stop ID [--config FILE]',
  async run(argv) {
    const { values, positionals } = parseCommandArgs(this, argv, { json: { type: 'boolean' } }, true);
    const [action = 'list', id, ...extra] = positionals;
    if (action !== 'list' && action !== 'stop') throw new UsageError(`unknown sessions action "${action}": use list or stop`);
    if (action === 'stop' && (!id || !ID.test(id))) throw new UsageError(`ID: expected a session id as listed by 'hpclab sessions list', got ${JSON.stringify(id ?? '')}`);
    if (extra.length || (action === 'list' && id)) throw new UsageError(`unexpected ${[id, ...extra].filter(Boolean).join(' ')}`);
    const companion = await findCompanion();
    if (action === 'list') {
      // The running companion knows best; without one, the store says what was last seen.
      const sessions = companion
        ? await companion.request<SessionInfo[]>('GET', '/hpclab/api/sessions')
        : await new SessionStore(path.join(statePaths(process.env, os.homedir()).stateDir, 'sessions.json')).load().then(rs => rs.map(r => r.info));
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
};
