import type { CompanionClient } from '../../../server/cli/companion-client';
import type { SessionInfo } from '../../../server/sessions/types';

/** A session as the companion's API returns it, with what a test changes. */
export function session(over: Partial<SessionInfo> = {}): SessionInfo {
  return {
    id: 'abc123def456',
    kind: 'alloc',
    cluster: 'testbed',
    profile: 'cpu',
    state: 'running',
    jobId: '123',
    pending: null,
    node: 'c1',
    createdAt: '2026-12-06T01:00:00.000Z',
    startedAt: '2026-12-06T01:00:02.000Z',
    endsAt: null,
    endedAt: null,
    endReason: null,
    message: null,
    baseUrl: '/hpclab/node/abc123def456/',
    ...over
  };
}

export interface Call {
  method: string;
  path: string;
  body?: unknown;
}

/** A companion that answers from `answer` and records every request; nothing is started. */
export function fakeCompanion(answer: (call: Call, calls: Call[]) => unknown): CompanionClient & { calls: Call[] } {
  const calls: Call[] = [];
  return {
    url: 'http://127.0.0.1:1/',
    calls,
    async request<T>(method: string, path: string, body?: unknown): Promise<T> {
      const call = { method, path, ...(body === undefined ? {} : { body }) };
      calls.push(call);
      const reply = answer(call, calls);
      if (reply instanceof Error) throw reply;
      return reply as T;
    }
  };
}

/** A progress line that keeps what it was told. */
export function recordingProgress(): { update(m: string): void; stop(): void; lines: string[] } {
  const lines: string[] = [];
  return { lines, update: m => lines.push(m), stop: () => undefined };
}
