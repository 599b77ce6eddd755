/** What the client reads of a fetch Response (jsdom has no Response class). */
export function reply(status: number, text: string) {
  return { ok: status >= 200 && status < 300, status, statusText: status === 200 ? 'OK' : 'Error', text: async () => text };
}

/** A session as the companion sends it; override what a test is about. */
export const sessionBase = {
  kind: 'lab' as const,
  cluster: 'testbed',
  profile: 'gpu',
  jobId: '7',
  pending: null,
  node: null,
  createdAt: '2026-01-01T00:00:00Z',
  startedAt: null,
  endsAt: null,
  endedAt: null,
  endReason: null,
  message: null,
  baseUrl: '/hpclab/node/s1/'
};
