import * as vm from 'node:vm';
import { slurmFields } from '../../../server/config/slurm-grammar';

/*
 * The gres grammar once read `name:2` two ways (as a type or as a count), so a list of such
 * items followed by anything invalid made the regex try 2^n readings before saying no: 30 items
 * took about half a minute, and a few hundred characters in overrides.gres held the companion
 * for minutes. Found by fuzzing.
 */

const gres = slurmFields.gres.test;

/**
 * The verdict on `value`, run under vm's watchdog: a regex that backtracks is stopped after
 * `limitMs` (the test fails at once instead of hanging), well past the microseconds a
 * linear-time match takes.
 */
function verdictWithin(value: string, limitMs = 1000): boolean {
  return vm.runInNewContext('gres(value)', { gres, value }, { timeout: limitMs }) as boolean;
}

describe('gres: a long list with an invalid tail is refused at once', () => {
  test.each(['!', ',', ':', ' ', '\n', '-:', ':x:'])('30 × "gpu:1," then %j', tail => {
    const value = `${'gpu:1,'.repeat(29)}gpu:1${tail}`;
    expect(verdictWithin(value)).toBe(false);
  });

  test.each(['gpu:1,', 'gpu:2,', 'shard:10,', 'a:1,'])('about 300 characters of %j then "!"', item => {
    const value = `${item.repeat(Math.ceil(300 / item.length))}!`;
    expect(value.length).toBeGreaterThanOrEqual(300);
    expect(verdictWithin(value)).toBe(false);
  });

  test('the same list without the tail is still a valid list', () => {
    expect(verdictWithin(`${'gpu:1,'.repeat(29)}gpu:1`)).toBe(true);
    expect(verdictWithin(`${'gpu:1,'.repeat(49)}gpu:1`)).toBe(true);
  });
});

describe('gres: the valid forms are still accepted', () => {
  test.each(['gpu', 'gpu:1', 'gpu:a100', 'gpu:a100:2', 'gpu:a100:2,shard:1', 'gpu:1,mps:100', 'gpu:tesla_v100-sxm2:4'])(
    '%s',
    value => {
      expect(gres(value)).toBe(true);
    }
  );

  test.each(['', 'gpu:', 'gpu:a100:', 'gpu:a100:x', 'gpu:1:2:3', ':1', '1gpu', 'gpu,', ',gpu', 'gpu;1', 'gpu:1 '])(
    'refuses %j',
    value => {
      expect(gres(value)).toBe(false);
    }
  );
});
