import { KernelIdle } from '../../../server/kernels/kernel-idle';
import { greeting, ready, status } from './idle-frames';

const MIN = 60_000;

describe('KernelIdle', () => {
  beforeEach(() => jest.useFakeTimers({ now: 0 }));
  afterEach(() => jest.useRealTimers());

  function kernel(idleMinutes = 10) {
    const events: string[] = [];
    const idle = new KernelIdle({
      idleMinutes,
      minuteMs: MIN,
      now: () => Date.now(),
      warn: (m, message) => events.push(`warn ${m} at ${Date.now() / MIN}: ${message}`),
      release: message => events.push(`release at ${Date.now() / MIN}: ${message}`),
      note: message => events.push(`note: ${message}`)
    });
    const feed = idle.iopubStream();
    feed(Buffer.concat([greeting(), ready(), status('starting'), status('idle')]));
    return { idle, events, feed };
  }

  it('warns, then releases a kernel that stays idle', () => {
    const { idle, events } = kernel();
    idle.start();
    jest.advanceTimersByTime(5 * MIN - 1);
    expect(events).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(events).toEqual([expect.stringMatching(/^warn 5 at 5: .*released in 5 min unless it runs something/)]);
    jest.advanceTimersByTime(5 * MIN);
    expect(events[1]).toBe('release at 10: released after 10 idle minutes');
    jest.advanceTimersByTime(60 * MIN);
    expect(events).toHaveLength(2);
  });

  it('does not release a kernel that turned busy after the warning, nor while it stays busy', () => {
    const { idle, events, feed } = kernel();
    idle.start();
    jest.advanceTimersByTime(6 * MIN);
    feed(status('busy'));
    jest.advanceTimersByTime(120 * MIN);
    expect(events).toEqual([expect.stringMatching(/^warn 5 at 5/), expect.stringMatching(/^note: .*in use again/)]);
    // Idle again at minute 126: warned at 131, released at 136.
    feed(status('idle'));
    jest.advanceTimersByTime(10 * MIN + 1000);
    expect(events.slice(2)).toEqual([
      expect.stringMatching(/^warn 5 at 131/),
      expect.stringMatching(/^release at 136/)
    ]);
  });

  it('does nothing for idleMinutes 0, and stops checking on stop()', () => {
    const never = kernel(0);
    never.idle.start();
    jest.advanceTimersByTime(10_000 * MIN);
    expect(never.events).toEqual([]);
    const stopped = kernel(10);
    stopped.idle.start();
    stopped.idle.stop();
    jest.advanceTimersByTime(60 * MIN);
    expect(stopped.events).toEqual([]);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('never releases a kernel whose iopub it cannot read', () => {
    const { idle, events } = kernel();
    idle.iopubStream()(Buffer.from('not zmtp at all'));
    idle.start();
    jest.advanceTimersByTime(60 * MIN);
    expect(events).toEqual([expect.stringMatching(/^note: an iopub connection is not ZMTP 3/)]);
  });
});
