import { ChannelLimiter } from '../../../server/transport/ssh/channel-limiter';

describe('ChannelLimiter', () => {
  it('runs at most max tasks at once and queues the rest in order', async () => {
    const limiter = new ChannelLimiter(3);
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    const task = (i: number) => async () => {
      running++;
      peak = Math.max(peak, running);
      await new Promise(r => setTimeout(r, 5));
      running--;
      order.push(i);
      return i;
    };
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => limiter.run(task(i))));
    expect(results).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(peak).toBe(3);
    expect(limiter.inUse).toBe(0);
    expect(limiter.queued).toBe(0);
  });

  it('frees the slot when a task fails', async () => {
    const limiter = new ChannelLimiter(1);
    await expect(limiter.run(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(limiter.run(async () => 'next')).resolves.toBe('next');
  });

  it('refuses a cap that is not a positive integer', () => {
    expect(() => new ChannelLimiter(0)).toThrow(RangeError);
  });
});
