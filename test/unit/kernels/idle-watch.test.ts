import { IdleWatch } from '../../../server/kernels/idle-watch';
import { greeting, message, ready, status } from './idle-frames';

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('IdleWatch', () => {
  it('follows execution_state across busy and idle, and times the last activity', () => {
    const c = clock();
    const w = new IdleWatch({ now: c.now });
    const feed = w.stream();
    expect(w.idleSince()).toBe(1_000_000); // a new kernel counts as active now
    feed(Buffer.concat([greeting(), ready()]));
    c.advance(1000);
    feed(status('starting'));
    expect(w.executionState()).toBe('starting');
    expect(w.idleSince()).toBe(1_001_000);
    c.advance(1000);
    feed(status('busy'));
    expect(w.idleSince()).toBeUndefined();
    c.advance(1000);
    feed(message('stream', { name: 'stdout', text: 'hello\n' }));
    expect(w.idleSince()).toBeUndefined();
    c.advance(5000);
    feed(status('idle', true));
    expect(w.executionState()).toBe('idle');
    expect(w.idleSince()).toBe(1_008_000);
  });

  it('counts any iopub message as activity, also while idle', () => {
    const c = clock();
    const w = new IdleWatch({ now: c.now });
    const feed = w.stream();
    feed(Buffer.concat([greeting(), ready(), status('idle')]));
    c.advance(60_000);
    feed(message('comm_msg', { comm_id: 'c', data: {} }));
    expect(w.idleSince()).toBe(1_060_000);
  });

  it('reads frames split anywhere, one byte at a time', () => {
    const c = clock();
    const w = new IdleWatch({ now: c.now });
    const feed = w.stream();
    const bytes = Buffer.concat([greeting(), ready(), status('busy', true)]);
    for (let i = 0; i < bytes.length; i++) feed(bytes.subarray(i, i + 1));
    expect(w.executionState()).toBe('busy');
    const idle = status('idle');
    feed(idle.subarray(0, 7));
    expect(w.executionState()).toBe('busy');
    c.advance(10);
    feed(idle.subarray(7));
    expect(w.idleSince()).toBe(1_000_010);
  });

  it('skips large frames (long sizes, binary buffers) without losing the next message', () => {
    const w = new IdleWatch();
    const feed = w.stream();
    const image = Buffer.alloc(300_000, 0x89);
    const big = message(
      'display_data',
      { data: { 'text/plain': 'x'.repeat(100_000) }, metadata: {} },
      { buffers: [image] }
    );
    feed(Buffer.concat([greeting(), ready(), status('busy'), big]));
    expect(w.executionState()).toBe('busy');
    feed(status('idle'));
    expect(w.executionState()).toBe('idle');
  });

  it('ignores a status-looking string outside a status message', () => {
    const w = new IdleWatch();
    const feed = w.stream();
    feed(Buffer.concat([greeting(), ready(), status('idle')]));
    feed(message('stream', { name: 'stdout', text: '"execution_state": "busy"' }));
    expect(w.executionState()).toBe('idle');
    expect(w.idleSince()).toBeDefined();
  });

  it('keeps one state for the kernel across several iopub connections', () => {
    const c = clock();
    const w = new IdleWatch({ now: c.now });
    const a = w.stream();
    const b = w.stream();
    a(Buffer.concat([greeting(), ready()]));
    b(Buffer.concat([greeting(), ready()]));
    a(status('busy'));
    expect(w.idleSince()).toBeUndefined();
    c.advance(100);
    b(status('idle'));
    expect(w.idleSince()).toBe(1_000_100);
  });

  it('never throws on garbage, and never takes what it cannot read for idle', () => {
    const unreadable = jest.fn();
    const w = new IdleWatch({ unreadable });
    const feed = w.stream();
    expect(() => feed(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'))).not.toThrow();
    expect(unreadable).toHaveBeenCalledTimes(1);
    expect(w.idleSince()).toBeUndefined();
    expect(() => feed(Buffer.alloc(10_000, 0xff))).not.toThrow();
    // A good connection's next status makes the kernel's state known again.
    const good = w.stream();
    good(Buffer.concat([greeting(), ready(), status('idle')]));
    expect(w.idleSince()).toBeDefined();
  });

  it('treats reserved flag bits, an old ZMTP version and absurd sizes as unreadable', () => {
    for (const bad of [
      Buffer.concat([greeting(), Buffer.from([0x80, 1, 0])]),
      Buffer.concat([greeting().subarray(0, 10), Buffer.from([1])]),
      Buffer.concat([greeting(), Buffer.from([0x02, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])])
    ]) {
      const w = new IdleWatch();
      expect(() => w.stream()(bad)).not.toThrow();
      expect(w.idleSince()).toBeUndefined();
    }
  });

  it('survives random bytes after a good start', () => {
    let x = 12345;
    const random = Buffer.from(Buffer.alloc(50_000).map(() => (x = (x * 1103515245 + 12345) & 0x7fffffff) & 0xff));
    const w = new IdleWatch();
    const feed = w.stream();
    feed(Buffer.concat([greeting(), ready(), status('idle')]));
    for (let i = 0; i < random.length; i += 997) expect(() => feed(random.subarray(i, i + 997))).not.toThrow();
  });
});
