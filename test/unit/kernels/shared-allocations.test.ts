import type { SessionManager } from '../../../server/sessions/manager';
import type { ClusterAccess, SessionInfo } from '../../../server/sessions/types';
import { SharedAllocations, type KernelPlace } from '../../../server/kernels/shared-allocations';

/** A session manager that knows the sessions given, and submits new ones as pending at once. */
function fakeSessions(initial: Partial<SessionInfo>[]) {
  const sessions = new Map<string, SessionInfo>();
  const add = (s: Partial<SessionInfo>) =>
    sessions.set(s.id!, { kind: 'kernel', cluster: 'c', profile: 'p', state: 'running', ...s } as SessionInfo);
  initial.forEach(add);
  let release: () => void = () => undefined;
  const manager = {
    list: () => [...sessions.values()],
    get: (id: string) => sessions.get(id),
    sessionDir: (id: string) => `/home/me/.hpclab/sessions/${id}`,
    create: async (request: { id: string }) => {
      await new Promise<void>(r => (release = r));
      add({ id: request.id, state: 'pending' });
      return sessions.get(request.id)!;
    }
  } as unknown as SessionManager;
  return { manager, submitted: () => release() };
}

const place = (id: string, over: Partial<KernelPlace> = {}): KernelPlace => ({
  id,
  cluster: 'c',
  profile: 'p',
  allocation: undefined,
  adopt: false,
  ...over
});

function allocations(initial: Partial<SessionInfo>[], kernels: KernelPlace[]) {
  const { manager, submitted } = fakeSessions(initial);
  const files = new Set<string>();
  const clusters = (() => ({
    transport: {
      readFile: async (p: string) => {
        if (!files.has(p)) throw new Error('ENOENT');
        return Buffer.from('1\n');
      }
    }
  })) as unknown as ClusterAccess;
  const shared = new SharedAllocations({
    sessions: manager,
    clusters,
    members: id => kernels.filter(k => k.allocation === id),
    kernels: () => kernels
  });
  return { shared, submitted, files, kernels };
}

test('one per allocation: every kernel gets its own, under its own id', async () => {
  const { shared, kernels } = allocations([{ id: 'ka' }], [place('ka', { allocation: 'ka' })]);
  expect(await shared.choose(place('kb'), 1)).toEqual({ id: 'kb', joined: false });
  expect(kernels).toHaveLength(1);
});

test('kernels of a profile join an allocation with room, never one of another profile or a full one', async () => {
  const kernels = [place('ka', { allocation: 'ka' }), place('kx', { allocation: 'kx', profile: 'other' })];
  const { shared } = allocations([{ id: 'ka' }, { id: 'kx', profile: 'other' }], kernels);
  expect(await shared.choose(place('kb'), 2)).toEqual({ id: 'ka', joined: true });
  kernels.push(place('kb', { allocation: 'ka' }));
  expect(await shared.choose(place('kc'), 2)).toEqual({ id: 'kc', joined: false });
  // A restart goes back to where the kernel was, room or not.
  expect(await shared.choose(kernels[2], 2)).toEqual({ id: 'ka', joined: true });
});

test('two notebooks opened together share the allocation the first is still submitting', async () => {
  const kernels: KernelPlace[] = [];
  const { shared, submitted } = allocations([], kernels);
  const first = place('ka');
  expect(await shared.choose(first, 2)).toEqual({ id: 'ka', joined: false });
  first.allocation = 'ka';
  kernels.push(first);
  const making = shared.create('ka', 'p', 'c');
  expect(await shared.choose(place('kb'), 2)).toEqual({ id: 'ka', joined: true });
  const waiting = shared.info('ka');
  submitted();
  expect((await making).id).toBe('ka');
  expect((await waiting).state).toBe('pending');
});

test('an allocation its last kernel left is held, and a kernel that joins meanwhile keeps it', async () => {
  jest.useFakeTimers();
  try {
    const kernels: KernelPlace[] = [];
    const { shared } = allocations([{ id: 'ka' }], kernels);
    const released: string[] = [];
    shared.hold('ka', 60_000, () => released.push('ka'));
    expect(shared.held()).toEqual(['ka']);
    expect(await shared.choose(place('kb'), 2)).toEqual({ id: 'ka', joined: true });
    jest.advanceTimersByTime(61_000);
    expect(released).toEqual([]);
    shared.hold('ka', 60_000, () => released.push('ka'));
    jest.advanceTimersByTime(61_000);
    expect(released).toEqual(['ka']);
    expect(shared.held()).toEqual([]);
    // Cancelled but still listed (completing): a new notebook must not join it and die with it.
    expect(await shared.choose(place('kc'), 2)).toEqual({ id: 'kc', joined: false });
  } finally {
    jest.useRealTimers();
  }
});

test('a restarted companion finds a kernel in the shared allocation its files name', async () => {
  const kernels = [place('ka', { allocation: 'ka' }), place('kb', { allocation: 'ka' })];
  const { shared, files } = allocations([{ id: 'ka' }, { id: 'kz' }], kernels);
  files.add('/home/me/.hpclab/sessions/kz/kernel-current-kc');
  expect(await shared.choose(place('kc', { adopt: true }), 2)).toEqual({ id: 'kz', joined: true });
  expect(await shared.choose(place('kd', { adopt: true }), 2)).toEqual({ id: 'kz', joined: true });
});
