import { closest, didYouMean, editDistance } from '../../../server/cli/suggest';
import { unknownCommand } from '../../../server/cli/main';
import { runCli } from './capture';

describe('editDistance', () => {
  it.each([
    ['status', 'status', 0],
    ['stauts', 'status', 1], // a swapped pair is one slip of the fingers
    ['--jsn', '--json', 1],
    ['kernel', 'kernels', 1],
    ['', 'abc', 3],
    ['serve', 'lab', 5]
  ])('%j → %j is %d', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
    expect(editDistance(b, a)).toBe(d);
  });
});

describe('closest', () => {
  const commands = [
    'init',
    'status',
    'jobs',
    'sessions',
    'serve',
    'lab',
    'tunnel',
    'kernels',
    'kernel-launch',
    'companion',
    'install'
  ];

  it.each([
    ['stauts', 'status'],
    ['job', 'jobs'],
    ['sess', 'sessions'], // a unique prefix
    ['tunel', 'tunnel'],
    ['kernel', 'kernels'],
    ['Status', 'status'],
    ['instal', 'install']
  ])('%j → %j', (typed, meant) => expect(closest(typed, commands)).toBe(meant));

  it.each(['xyz', 'deploy', 'ls', 'k'])('%j is near nothing', typed =>
    expect(closest(typed, commands)).toBeUndefined()
  );

  it('suggests flags with their dashes', () => {
    expect(closest('--clustr', ['--cluster', '--json', '--config'])).toBe('--cluster');
    expect(closest('--no-brwser', ['--no-browser', '--keep'])).toBe('--no-browser');
  });

  it('phrases a suggestion, or nothing', () => {
    expect(didYouMean('cancle', ['cancel', 'hold', 'release'])).toBe(' (did you mean "cancel"?)');
    expect(didYouMean('zzz', ['cancel', 'hold', 'release'])).toBe('');
  });
});

describe('typos through the CLI: exit 2, the closest word, and where to look', () => {
  it('an unknown command names the closest one and lists them all', async () => {
    const r = await runCli(['stauts']);
    expect(r).toMatchObject({ code: 2, stdout: '' });
    expect(r.stderr).toMatch(/^hpclab: unknown command "stauts"; did you mean "hpclab status"\?/);
    expect(r.stderr).toContain('Commands: init, status, jobs,');
    expect(r.stderr).toContain("Run 'hpclab --help'");
  });

  it('a command far from all still gets the list', () => {
    expect(unknownCommand('deploy')).toMatch(/^hpclab: unknown command "deploy"\nCommands: /);
  });

  it('a flag before the command says where flags go', () => {
    expect(unknownCommand('--json')).toMatch(/flags go after it \(hpclab COMMAND --json\)/);
  });

  it.each([
    [['status', '--jsn'], /^hpclab status: unknown option '--jsn'; did you mean --json\?/],
    [['status', '-json'], /did you mean --json\?/],
    [['tunnel', '--no-brwser'], /did you mean --no-browser\?/],
    [['status', '--bogus'], /unknown option '--bogus'; hpclab status takes --cluster, --json, --config, --help/],
    [['jobs', 'cancle', '12'], /unknown jobs action "cancle" \(did you mean "cancel"\?\)/],
    [['jobs', '1234'], /"1234" is a job id: say what to do with it, e.g. hpclab jobs cancel 1234/],
    [['sessions', 'stp'], /did you mean "stop"\?/],
    [['kernels', 'ad'], /did you mean "add"\?/],
    [['serve', '--port', 'http'], /--port: expected a port number from 0 to 65535 \(0 or no --port picks a free one\)/],
    [['lab', '--json=yes'], /--json takes no value: write --json alone/],
    [['status', '--cluster'], /--cluster needs a value: --cluster C/]
  ])('%j', async (argv, message) => {
    const r = await runCli(argv);
    expect(r).toMatchObject({ code: 2, stdout: '' });
    expect(r.stderr).toMatch(message);
  });

  it('a flag mistake shows the usage and points to --help', async () => {
    const r = await runCli(['lab', '--no-browse']);
    expect(r.stderr).toContain('usage: hpclab lab [--port P]');
    expect(r.stderr).toContain("Run 'hpclab lab --help' for every flag.");
  });
});
