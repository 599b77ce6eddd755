import { IdlePolicy, idleMinuteMs, profileIdleMinutes } from '../../../server/sessions/idle-policy';

const MIN = 60_000;

function setup(idleMinutes: number, warnMinutes?: number) {
  let t = 0;
  const warned: number[] = [];
  const events: string[] = [];
  const policy = new IdlePolicy({
    idleMinutes,
    warnMinutes,
    now: () => t,
    warn: m => {
      warned.push(m);
      events.push(`warn ${m} at ${t / MIN}`);
    },
    release: () => events.push(`release at ${t / MIN}`),
    active: () => events.push(`active at ${t / MIN}`)
  });
  return { policy, warned, events, at: (minutes: number) => (t = minutes * MIN) };
}

describe('IdlePolicy', () => {
  it('warns warnMinutes before the release, then releases at idleMinutes', () => {
    const { policy, events, at } = setup(60);
    expect(policy.check(0)).toBe(55 * MIN); // next look: when the warning falls due
    at(54);
    policy.check(0);
    expect(events).toEqual([]);
    at(55);
    expect(policy.check(0)).toBe(5 * MIN);
    expect(events).toEqual(['warn 5 at 55']);
    at(59);
    policy.check(0);
    at(60);
    expect(policy.check(0)).toBeUndefined();
    expect(events).toEqual(['warn 5 at 55', 'release at 60']);
    expect(policy.released).toBe(true);
    at(61);
    policy.check(0);
    expect(events).toHaveLength(2); // once
  });

  it('warns half the limit ahead for short limits (min(5, idleMinutes / 2))', () => {
    const { policy, events, at } = setup(4);
    at(1.9);
    policy.check(0);
    at(2);
    policy.check(0);
    at(4);
    policy.check(0);
    expect(events).toEqual(['warn 2 at 2', 'release at 4']);
  });

  it('never releases a busy kernel, however long', () => {
    const { policy, events, at } = setup(10);
    at(1000);
    expect(policy.check(undefined)).toBeUndefined();
    expect(events).toEqual([]);
  });

  it('does not release what became busy after the warning, and warns again for a later idle spell', () => {
    const { policy, events, at } = setup(10, 2);
    at(8);
    policy.check(0);
    at(9);
    policy.check(undefined); // busy
    at(30);
    policy.check(undefined);
    expect(events).toEqual(['warn 2 at 8', 'active at 9']);
    // Idle again from minute 30: a new warning before any release.
    at(38);
    policy.check(30);
    at(40);
    policy.check(30);
    expect(events).toEqual(['warn 2 at 8', 'active at 9', 'warn 2 at 38', 'release at 40']);
  });

  it('activity after the warning (a later idleSince) calls the warning off', () => {
    const { policy, events, at } = setup(10, 2);
    at(8);
    policy.check(0);
    at(9);
    expect(policy.check(8.5 * MIN)).toBe(7.5 * MIN); // the next warning is due at 16.5
    at(10);
    policy.check(8.5 * MIN);
    expect(events).toEqual(['warn 2 at 8', 'active at 9']);
  });

  it('first seen long idle: warns now and releases only warnMinutes later', () => {
    const { policy, events, at } = setup(60);
    at(500);
    expect(policy.check(0)).toBe(5 * MIN);
    at(504);
    policy.check(0);
    at(505);
    policy.check(0);
    expect(events).toEqual(['warn 5 at 500', 'release at 505']);
  });

  it('a late check still gives the whole warning time', () => {
    const { policy, events, at } = setup(60);
    at(57.5);
    expect(policy.check(0)).toBe(5 * MIN);
    at(60);
    policy.check(0);
    at(62.5);
    policy.check(0);
    expect(events).toEqual(['warn 5 at 57.5', 'release at 62.5']);
  });

  it('idleMinutes 0 never does anything', () => {
    const { policy, events, at } = setup(0);
    at(1e6);
    expect(policy.check(0)).toBeUndefined();
    expect(events).toEqual([]);
  });

  it('warnMinutes 0: the warning and the release come together', () => {
    const { policy, events, at } = setup(10, 0);
    at(10);
    policy.check(0);
    expect(events).toEqual(['warn 0 at 10', 'release at 10']);
  });
});

describe('idle limits', () => {
  it('defaults to 60 minutes for GPU profiles and never for the others', () => {
    expect(profileIdleMinutes({ gres: 'gpu:1' })).toBe(60);
    expect(profileIdleMinutes({ gres: 'gpu:a100:2' })).toBe(60);
    expect(profileIdleMinutes({})).toBe(0);
    expect(profileIdleMinutes({ gres: 'gpu:1', idleMinutes: 0 })).toBe(0);
    expect(profileIdleMinutes({ idleMinutes: 15 })).toBe(15);
  });

  it('reads the test-only minute length from HPCLAB_IDLE_MINUTE_MS, else 60 s', () => {
    expect(idleMinuteMs({})).toBe(60_000);
    expect(idleMinuteMs({ HPCLAB_IDLE_MINUTE_MS: '500' })).toBe(500);
    for (const bad of ['', '0', '-5', '1.5', 'soon']) expect(idleMinuteMs({ HPCLAB_IDLE_MINUTE_MS: bad })).toBe(60_000);
  });
});
