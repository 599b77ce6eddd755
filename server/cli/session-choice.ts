import type { SessionInfo, SessionKind, SessionState } from '../sessions/types';
import { UsageError } from './context';
import { table } from './format';

/*
 * Which session `hpclab shell` and `hpclab release` act on: the one named, else the only one
 * that fits. Guessing between several would put a shell on, or free, the wrong node.
 */

/** Session ids as the companion makes them (api/schemas.ts). */
export const SESSION_ID = /^[a-z0-9]{6,32}$/;

/** SESSION as typed, checked before anything connects. */
export function checkSessionWord(word: string | undefined, command: string): string | undefined {
  if (word === undefined || SESSION_ID.test(word)) return word;
  throw new UsageError(
    `SESSION: expected a session id as 'hpclab sessions' lists it (6 to 32 lower-case letters and digits), got ${JSON.stringify(word)}; e.g. hpclab ${command} 3f9a2b1c4d5e`
  );
}

/** The only session of these kinds in these states, or a UsageError listing what there is. */
export function onlySession(
  sessions: readonly SessionInfo[],
  fits: {
    kinds: readonly SessionKind[];
    states: readonly SessionState[];
    /** What fits, in words: "running alloc or lab session". */
    label: string;
  },
  command: string
): SessionInfo {
  const candidates = sessions.filter(s => fits.kinds.includes(s.kind) && fits.states.includes(s.state));
  if (candidates.length === 1) return candidates[0];
  if (candidates.length === 0)
    throw new UsageError(
      `SESSION: you have no ${fits.label}; 'hpclab sessions' lists yours, 'hpclab alloc --profile P' holds a node`
    );
  throw new UsageError(
    `SESSION: you have ${candidates.length} ${fits.label}s; name one, e.g. hpclab ${command} ${candidates[0].id}\n${sessionList(candidates)}`
  );
}

function sessionList(sessions: readonly SessionInfo[]): string {
  return table(
    ['ID', 'KIND', 'PROFILE', 'CLUSTER', 'STATE', 'JOB', 'NODE'],
    sessions.map(s => [s.id, s.kind, s.profile, s.cluster, s.state, s.jobId ?? '-', s.node ?? '-'])
  );
}
