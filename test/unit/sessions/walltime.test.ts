import { WalltimeWarnings } from '../../../server/sessions/walltime';

describe('WalltimeWarnings', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('warns at each threshold before the end, once', () => {
    const warned: number[] = [];
    const now = Date.now();
    const w = new WalltimeWarnings(
      [10, 2],
      m => warned.push(m),
      () => now
    );
    w.schedule(new Date(now + 30 * 60_000));
    jest.advanceTimersByTime(19 * 60_000);
    expect(warned).toEqual([]);
    jest.advanceTimersByTime(60_000);
    expect(warned).toEqual([10]);
    jest.advanceTimersByTime(8 * 60_000);
    expect(warned).toEqual([10, 2]);
    jest.advanceTimersByTime(60 * 60_000);
    expect(warned).toEqual([10, 2]);
  });

  it('a session shorter than the thresholds gets one warning at once with the real minutes left', () => {
    const warned: number[] = [];
    const now = Date.now();
    new WalltimeWarnings(
      [10, 2],
      m => warned.push(m),
      () => now
    ).schedule(new Date(now + 60_000));
    expect(warned).toEqual([1]);
  });

  it('rescheduling (a new end time) replaces the old timers', () => {
    const warned: number[] = [];
    const now = Date.now();
    const w = new WalltimeWarnings(
      [10],
      m => warned.push(m),
      () => now
    );
    w.schedule(new Date(now + 20 * 60_000));
    w.schedule(new Date(now + 40 * 60_000));
    jest.advanceTimersByTime(11 * 60_000);
    expect(warned).toEqual([]);
    jest.advanceTimersByTime(20 * 60_000);
    expect(warned).toEqual([10]);
  });
});
