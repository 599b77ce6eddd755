import { continueKernels, ContinueError, type ContinueSteps } from '../../src/checkpoint/continue';
import { english } from '../../src/translate';

type Nb = { name: string };

/** Steps that record what ran, in order; `fail` makes one step of one notebook throw. */
function recording(fail: { step?: keyof ContinueSteps<Nb>; name?: string } = {}) {
  const ran: string[] = [];
  const step =
    <T>(name: keyof ContinueSteps<Nb>, value: T) =>
    async (nb?: Nb): Promise<T> => {
      ran.push(nb ? `${name} ${nb.name}` : name);
      if (fail.step === name && (!fail.name || fail.name === nb?.name)) throw new Error(`${name} failed`);
      return value;
    };
  const steps: ContinueSteps<Nb> = {
    save: step('save', undefined),
    stop: step('stop', undefined),
    restart: step('restart', undefined),
    ready: step('ready', undefined),
    job: step('job', '46'),
    restore: step('restore', { restored: ['x'], failed: {} }),
    progress: message => ran.push(`> ${message}`)
  };
  return { steps, ran };
}

test('continuing saves every notebook, then stops the job, then restarts and restores each', async () => {
  const { steps, ran } = recording();
  const out = await continueKernels([{ name: 'a.ipynb' }, { name: 'b.ipynb' }], '45', steps, english);
  expect(ran).toEqual([
    '> Saving the variables of a.ipynb, b.ipynb…',
    'save a.ipynb',
    'save b.ipynb',
    '> Stopping job 45…',
    'stop',
    '> Waiting for a new allocation…',
    'restart a.ipynb',
    'restart b.ipynb',
    'ready a.ipynb',
    'ready b.ipynb',
    'job a.ipynb',
    '> Restoring the variables of a.ipynb in job 46…',
    'restore a.ipynb',
    'job b.ipynb',
    '> Restoring the variables of b.ipynb in job 46…',
    'restore b.ipynb'
  ]);
  expect(out).toEqual([
    { name: 'a.ipynb', job: '46', report: { restored: ['x'], failed: {} } },
    { name: 'b.ipynb', job: '46', report: { restored: ['x'], failed: {} } }
  ]);
});

test('a notebook that cannot be saved: nothing is stopped, and the job is said to keep running', async () => {
  const { steps, ran } = recording({ step: 'save', name: 'b.ipynb' });
  const err = await continueKernels([{ name: 'a.ipynb' }, { name: 'b.ipynb' }], '45', steps, english).catch(
    (e: unknown) => e
  );
  expect(err).toBeInstanceOf(ContinueError);
  expect(err).toMatchObject({
    stopped: false,
    message: 'Could not save the variables of b.ipynb (save failed); job 45 keeps running.'
  });
  expect(ran).not.toContain('stop');
  expect(ran.filter(r => r.startsWith('restart'))).toEqual([]);
});

test('a kernel that comes back in the old job is not restored there', async () => {
  const { steps } = recording();
  steps.job = async () => '45';
  const err = await continueKernels([{ name: 'a.ipynb' }], '45', steps, english).catch((e: unknown) => e);
  expect(err).toMatchObject({ stopped: true });
  expect((err as Error).message).toContain('its kernel is still in job 45, which was to stop');
});

test('one kernel not coming back does not keep the other from its variables', async () => {
  const { steps, ran } = recording({ step: 'ready', name: 'a.ipynb' });
  const out = await continueKernels([{ name: 'a.ipynb' }, { name: 'b.ipynb' }], '45', steps, english);
  expect(out).toEqual([
    { name: 'a.ipynb', job: null, error: 'ready failed' },
    { name: 'b.ipynb', job: '46', report: { restored: ['x'], failed: {} } }
  ]);
  expect(ran).not.toContain('restore a.ipynb');
});
