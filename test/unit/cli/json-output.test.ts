import { parseCommandArgs, HelpRequested } from '../../../server/cli/args';
import { labCommand } from '../../../server/cli/commands/lab';
import { serveCommand } from '../../../server/cli/commands/serve';
import { tunnelCommand } from '../../../server/cli/commands/tunnel';
import { urlLine } from '../../../server/cli/url-output';

/*
 * serve, lab and tunnel run until Ctrl-C, so they are not started here: their --json is shown
 * to parse (before anything starts) and the line they print is checked on its own.
 */
describe.each([
  ['serve', serveCommand],
  ['lab', labCommand],
  ['tunnel', tunnelCommand]
] as const)('hpclab %s --json', (_name, command) => {
  it('parses, alone and with the other flags', () => {
    expect(parseCommandArgs(command, ['--json']).values.json).toBe(true);
    expect(parseCommandArgs(command, ['--port', '0', '--json']).values).toMatchObject({ json: true, port: '0' });
    expect(parseCommandArgs(command, []).values.json).toBeUndefined();
  });

  it('is in its usage line and its help', async () => {
    expect(command.usage[0]).toContain('[--json]');
    await expect(command.run(['--json', '--help'])).rejects.toThrow(HelpRequested);
  });
});

describe('urlLine', () => {
  const url = 'http://127.0.0.1:8888/lab?token=abc';

  it('prints the human line unchanged without --json (tests and scripts parse it)', () => {
    const line = urlLine(undefined, `Jupyter at: ${url}`, { url, token: 'abc', pid: 42 });
    expect(line).toBe(`Jupyter at: ${url}\n`);
    expect(/^Jupyter at: (\S+)$/m.exec(line)?.[1]).toBe(url);
    expect(urlLine(false, 'x', { url, pid: 1 })).toBe('x\n');
  });

  it('prints one JSON object on one line with --json', () => {
    const line = urlLine(true, `Jupyter at: ${url}`, { url, token: 'abc', pid: 42, session: 's1' });
    expect(line.endsWith('\n')).toBe(true);
    expect(line.trimEnd().split('\n')).toHaveLength(1);
    expect(JSON.parse(line)).toEqual({ url, token: 'abc', pid: 42, session: 's1' });
  });

  it('leaves the token out when there is none', () => {
    expect(JSON.parse(urlLine(true, '', { url, pid: 7 }))).toEqual({ url, pid: 7 });
  });
});
