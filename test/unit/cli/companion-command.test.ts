import { HelpRequested } from '../../../server/cli/args';
import { companionCommand } from '../../../server/cli/commands/companion';
import { UsageError } from '../../../server/cli/context';
import { main } from '../../../server/cli/main';

/*
 * `hpclab companion` is what the Python server extension runs. Its mistakes in usage must fail
 * before anything is started: no companion is spawned by any test here.
 */
describe('hpclab companion: usage', () => {
  it.each([
    [['--bogus'], /unknown option '--bogus'/],
    [['--config'], /--config/],
    [['extra'], /extra/]
  ])('%j is a usage error that shows the usage', async (argv, message) => {
    const run = companionCommand.run(argv);
    await expect(run).rejects.toThrow(UsageError);
    await expect(run).rejects.toThrow(message);
    await expect(run).rejects.toThrow(/usage: hpclab companion \[--json\] \[--config FILE\]/);
  });

  it('--help asks for the usage instead of running', async () => {
    await expect(companionCommand.run(['--json', '--help'])).rejects.toThrow(HelpRequested);
  });

  it('exits 2 through the CLI, one line on stderr and nothing on stdout', async () => {
    const out = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const err = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await main(['companion', '--jsn'])).toBe(2);
      expect(out).not.toHaveBeenCalled();
      expect(String(err.mock.calls[0][0])).toMatch(/^hpclab companion: unknown option '--jsn'/);
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
  });

  it('is listed in the CLI help', async () => {
    const out = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      expect(await main(['--help'])).toBe(0);
      expect(String(out.mock.calls[0][0])).toMatch(/^ {2}companion +Make sure my companion runs/m);
    } finally {
      out.mockRestore();
    }
  });
});
