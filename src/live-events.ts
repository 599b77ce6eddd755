import { eventSchemas, type Session } from './contract';
import type { LiveEvent } from './tokens';

/** The event types of the companion's stream (/hpclab/events). */
export const LIVE_EVENT_TYPES = [
  'snapshot',
  'session',
  'walltime-warning',
  'idle-warning',
  'prompt',
  'prompt-done',
  'link'
] as const;

/**
 * One frame of the stream applied to the session list: the list after it (when it changed) and
 * the event to pass on (a snapshot has none). A frame that fails its schema, e.g. from a companion
 * of another version, changes nothing: the next poll corrects the state.
 */
export function readLiveEvent(
  type: string,
  data: unknown,
  sessions: readonly Session[]
): { sessions?: Session[]; event?: LiveEvent } {
  if (type === 'snapshot') {
    const parsed = eventSchemas.snapshot.safeParse(data);
    return parsed.success ? { sessions: parsed.data.sessions } : {};
  }
  if (type === 'session') {
    const parsed = eventSchemas.session.safeParse(data);
    if (!parsed.success) return {};
    const next = parsed.data.session;
    const previous = sessions.find(s => s.id === next.id);
    return {
      sessions: previous ? sessions.map(s => (s.id === next.id ? next : s)) : [next, ...sessions],
      event: { type: 'session', session: next, previous }
    };
  }
  if (type === 'walltime-warning') {
    const parsed = eventSchemas['walltime-warning'].safeParse(data);
    if (!parsed.success) return {};
    const { sessionId, minutesLeft, endsAt } = parsed.data;
    return {
      event: { type: 'walltime-warning', session: sessions.find(s => s.id === sessionId), minutesLeft, endsAt }
    };
  }
  if (type === 'idle-warning') {
    const parsed = eventSchemas['idle-warning'].safeParse(data);
    if (!parsed.success) return {};
    const { sessionId, minutesLeft, stopsAt, idleMinutes } = parsed.data;
    return {
      event: {
        type: 'idle-warning',
        session: sessions.find(s => s.id === sessionId),
        minutesLeft,
        stopsAt,
        idleMinutes
      }
    };
  }
  if (type === 'prompt') {
    const parsed = eventSchemas.prompt.safeParse(data);
    return parsed.success ? { event: { type: 'prompt', prompt: parsed.data } } : {};
  }
  if (type === 'prompt-done') {
    const parsed = eventSchemas['prompt-done'].safeParse(data);
    return parsed.success ? { event: { type: 'prompt-done', id: parsed.data.id } } : {};
  }
  if (type === 'link') {
    const parsed = eventSchemas.link.safeParse(data);
    return parsed.success ? { event: { type: 'link', link: parsed.data } } : {};
  }
  return {};
}
