import { checkJobId, jobIdSchema } from '../../../server/scheduler/validate';

/*
 * Slurm job ids are 32-bit (at most 4294967295): a part longer than 10 digits is never a job,
 * so it is refused before any Slurm command sees it (once any run of digits passed). Each part,
 * the job's and the array task's, is at most 10 digits.
 */

describe('job ids: at most 10 digits a part', () => {
  test.each(['1', '1234567890', '4294967295', '1234_5', '1234567890_1234567890', '1_0'])('accepts %s', id => {
    expect(jobIdSchema.parse(id)).toBe(id);
    expect(checkJobId(id)).toBe(id);
  });

  test.each(['12345678901', '99999999999999999999', '1234_12345678901', '12345678901_1', `1${'0'.repeat(40)}`])(
    'refuses %s',
    id => {
      expect(jobIdSchema.safeParse(id).success).toBe(false);
      expect(() => checkJobId(id)).toThrow(/^job id: expected a Slurm job id such as 1234 or 1234_5, got /);
    }
  );
});
