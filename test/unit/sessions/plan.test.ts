import { profileSchema } from '../../../server/config/schema';
import { submitArgv } from '../../../server/scheduler/slurm/argv';
import { planSubmission } from '../../../server/sessions/plan';

/*
 * A profile's `sbatch` options (mail events, exclusive nodes, licenses) reach sbatch for Lab
 * sessions and kernel allocations alike, after the options hpclab sets, and show in the plan the
 * preview returns. They used to pass the config check and then be dropped.
 */

const profile = profileSchema.parse({
  cluster: 'testbed',
  partition: 'debug',
  time: '00:30:00',
  sbatch: { 'mail-type': 'END', 'mail-user': 'me@example.org', exclusive: '' }
});

it.each(['lab', 'kernel'] as const)("a %s session submits the profile's sbatch options", kind => {
  const plan = planSubmission({ kind, profile: 'cpu' } as never, 'abc123', profile, '/home/me');
  const argv = submitArgv(plan.options);
  expect(argv.slice(-3)).toEqual(['--exclusive', '--mail-type=END', '--mail-user=me@example.org']);
  expect(argv).toContain('--partition=debug');
  expect(argv).toContain('--job-name=hpclab-abc123');
});

it('a profile without them submits none', () => {
  const plain = profileSchema.parse({ cluster: 'testbed' });
  const plan = planSubmission({ kind: 'lab', profile: 'cpu' }, 'abc123', plain, '/home/me');
  expect(plan.options.sbatch).toBeUndefined();
  expect(submitArgv(plan.options).at(-1)).toBe('--no-requeue');
});

it("a request's mail and sbatch options reach sbatch over the profile's, each option once", () => {
  const plan = planSubmission(
    {
      kind: 'lab',
      profile: 'cpu',
      overrides: { mailType: 'BEGIN,FAIL', sbatch: { licenses: 'matlab:1', exclusive: '' } }
    },
    'abc123',
    profile,
    '/home/me'
  );
  const argv = submitArgv(plan.options);
  expect(argv).toContain('--mail-type=BEGIN,FAIL');
  expect(argv.filter(a => a.startsWith('--mail-type'))).toHaveLength(1);
  // The profile's address stays when the request names none.
  expect(argv).toContain('--mail-user=me@example.org');
  expect(argv).toEqual(expect.arrayContaining(['--licenses=matlab:1', '--exclusive']));
});

it.each([
  [{ mailType: 'SOMETIMES' }, /^mailType: expected a comma list of NONE, BEGIN, END/],
  [{ sbatch: { output: '/tmp/x' } }, /"--output" cannot be set here/],
  [{ sbatch: { time: '9:00:00' } }, /"--time" cannot be set here: use the profile's "time"/],
  [{ mailUser: 'a b' }, /^mailUser: expected an email address/]
])('a request with %j is refused before anything runs', (overrides, message) => {
  expect(() => planSubmission({ kind: 'lab', profile: 'cpu', overrides }, 'abc123', profile, '/home/me')).toThrow(
    message
  );
});
