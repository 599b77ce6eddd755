/** What the client reads of a fetch Response (jsdom has no Response class). */
export function reply(status: number, text: string) {
  return {
    ok: status >= 200 && status < 300,
    status,
    statusText: status === 200 ? 'OK' : 'Error',
    text: async () => text
  };
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

/** A fetch that answers from a table keyed `METHOD /path?query` and records what it was asked. */
export function fakeFetch(answers: Record<string, { status?: number; body: unknown }>) {
  const calls: { url: string; init: RequestInit }[] = [];
  const impl = (async (url: string, init: RequestInit) => {
    calls.push({ url, init });
    const key = `${init.method} ${new URL(url).pathname}${new URL(url).search}`;
    const answer = answers[key];
    if (!answer) throw new TypeError('Failed to fetch');
    return reply(answer.status ?? 200, typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body));
  }) as unknown as typeof fetch;
  return { impl, calls };
}
