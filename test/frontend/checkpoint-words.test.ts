import { continuedMessage, NOTE_LIMIT, savedDetails, savedMessage, savedWithLoss } from '../../src/checkpoint/words';
import { english } from '../../src/translate';

const report = (saved: string[], skipped: Record<string, string> = {}, pickler: 'dill' | 'pickle' = 'dill') => ({
  path: '/home/u/.hpclab/checkpoints/a.pkl',
  saved,
  skipped,
  bytes: 1234,
  seconds: 0.25,
  pickler,
  count: 3,
  written: saved.length + Object.keys(skipped).length > 0
});

test('the checkpoint notification names each variable not saved, with its reason', () => {
  const one = [
    { name: 'analysis.ipynb', report: report(['x', 'f'], { lock: "RLock: cannot pickle '_thread.RLock' object" }) }
  ];
  expect(savedMessage(one, english)).toBe(
    "Saved 2 variables of analysis.ipynb to continue later; not saved: lock (RLock: cannot pickle '_thread.RLock' object)"
  );
  expect(savedWithLoss(one)).toBe(true);
  expect(savedMessage([{ name: 'a.ipynb', report: report(['x']) }], english)).toBe(
    'Saved 1 variable of a.ipynb to continue later.'
  );
  expect(savedMessage([{ name: 'a.ipynb', report: report(['x'], {}, 'pickle') }], english)).toBe(
    'Saved 1 variable of a.ipynb to continue later (without dill: pickle).'
  );
  expect(savedMessage([{ name: 'a.ipynb', report: report([]) }], english)).toBe(
    'Nothing to save yet in a.ipynb: its variables are saved after its next run.'
  );
  expect(savedMessage([{ name: 'a.ipynb', error: 'the kernel did not answer in 600 s (busy?)' }], english)).toBe(
    'Could not save the variables of a.ipynb: the kernel did not answer in 600 s (busy?)'
  );
});

test('many names not saved: shortened to fit what JupyterLab shows, never silently', () => {
  const skipped = Object.fromEntries(
    Array.from({ length: 12 }, (_v, i) => [`connection_${i}`, "socket: cannot pickle 'socket' object"])
  );
  const text = savedMessage([{ name: 'a.ipynb', report: report(['x'], skipped) }], english);
  expect(text.length).toBeLessThanOrEqual(NOTE_LIMIT);
  expect(text).toMatch(/^Saved 1 variable of a\.ipynb to continue later; not saved: connection_0, .* and \d+ more$/);
  // The Details dialog has every name and reason.
  const details = savedDetails([{ name: 'a.ipynb', report: report(['x'], skipped) }], english);
  for (const name of Object.keys(skipped))
    expect(details).toContain(`Not saved: ${name} (socket: cannot pickle 'socket' object)`);
});

test('several notebooks: one line each, within the limit', () => {
  const text = savedMessage(
    [
      { name: 'a.ipynb', report: report(['x', 'y']) },
      { name: 'b.ipynb', report: report(['z'], { gen: "generator: cannot pickle 'generator' object" }) }
    ],
    english
  );
  expect(text.split('\n')).toEqual([
    'Saved 2 variables of a.ipynb to continue later.',
    'Saved 1 variable of b.ipynb to continue later; not saved: gen'
  ]);
});

test('what continuing says: the new job, what came back and what did not', () => {
  expect(
    continuedMessage(
      [
        {
          name: 'a.ipynb',
          job: '46',
          report: { restored: ['x', 'y'], failed: { z: "ModuleNotFoundError: No module named 'torch'" } }
        }
      ],
      english
    )
  ).toBe("Continued in job 46: restored x, y; could not restore: z (ModuleNotFoundError: No module named 'torch')");
  expect(continuedMessage([{ name: 'a.ipynb', job: '46', report: { restored: ['x'], failed: {} } }], english)).toBe(
    'Continued in job 46: restored x.'
  );
  expect(continuedMessage([{ name: 'a.ipynb', job: '46', report: { missing: true } }], english)).toBe(
    'Continued in job 46: no checkpoint to restore.'
  );
  expect(
    continuedMessage(
      [
        { name: 'a.ipynb', job: '46', report: { restored: ['x'], failed: {} } },
        { name: 'b.ipynb', job: null, error: 'the notebook was closed' }
      ],
      english
    ).split('\n')
  ).toEqual([
    'a.ipynb continued in job 46: restored x.',
    'b.ipynb did not come back in a new allocation: the notebook was closed'
  ]);
});
