import { HelpRequested, parseCommandArgs } from '../../../server/cli/args';
import { shellCommand, shellSession, splitShellArgv } from '../../../server/cli/commands/shell';
import { UsageError } from '../../../server/cli/context';
import { LOGIN_SHELL, remoteCommand, srunShellArgv } from '../../../server/cli/srun-shell';
import { renderRemoteCommand } from '../../../server/transport/quote';
import { runCli } from './capture';
import { fakeCompanion, session } from './fake-companion';

/* `hpclab shell`: its words, the srun it runs (argv, never a shell string), and which session it picks. */

describe('hpclab shell: arguments', () => {
  it('keeps the words after the first -- for the remote command, whatever they look like', () => {
    expect(splitShellArgv([])).toEqual({ own: [], remote: [] });
    expect(splitShellArgv(['abc123def456'])).toEqual({ own: ['abc123def456'], remote: [] });
    expect(splitShellArgv(['abc123def456', '--config', 'c.json', '--', 'ls', '--help', '--', 'x'])).toEqual({
      own: ['abc123def456', '--config', 'c.json'],
      remote: ['ls', '--help', '--', 'x']
    });
  });

  it('runs the login shell when no command is given, else the command as given', () => {
    expect(remoteCommand([])).toBe(LOGIN_SHELL);
    expect(remoteCommand(['python3', '-c', 'print(1); import os'])).toEqual(['python3', '-c', 'print(1); import os']);
  });

  it.each([
    [['-x'], /^CMD: the command must start with a program, not "-x"/],
    [['--jobid=1', 'bash'], /srun would read it as its own option/],
    [[''], /^CMD:/],
    [['echo', 'a\0b'], /^CMD: an argument holds a NUL byte/]
  ])('refuses %j as the command', (words, message) => {
    expect(() => remoteCommand(words)).toThrow(UsageError);
    expect(() => remoteCommand(words)).toThrow(message);
  });

  it.each([
    [['bad!id'], /^hpclab shell: SESSION: expected a session id .* got "bad!id"/],
    [['abc123def456', 'ls'], /^hpclab shell: unexpected "ls": the command to run goes after --/],
    [['--', '-i'], /^hpclab shell: CMD: the command must start with a program/],
    [['--json'], /^hpclab shell: unknown option '--json'/]
  ])('%j exits 2 before anything connects', async (argv, message) => {
    const r = await runCli(['shell', ...argv]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });

  it('--help before -- asks for help; after it, it is the remote command’s', async () => {
    await expect(shellCommand.run(['--help'])).rejects.toThrow(HelpRequested);
    expect(parseCommandArgs(shellCommand, splitShellArgv(['--', 'ls', '--help']).own).values.help).toBeUndefined();
  });
});

describe('the srun that hpclab shell runs', () => {
  it('is a step in the job, sharing its allocation, on a terminal, on the session’s node', () => {
    expect(srunShellArgv({ jobId: '123', node: 'c1' }, ['bash', '-l'])).toEqual([
      'srun',
      '--jobid=123',
      '--overlap',
      '--pty',
      '-N1',
      '-n1',
      '-w',
      'c1',
      'bash',
      '-l'
    ]);
  });

  it('leaves the node to srun when the session has several', () => {
    expect(srunShellArgv({ jobId: '9', node: 'c[1-2]' }, ['bash'])).toEqual([
      'srun',
      '--jobid=9',
      '--overlap',
      '--pty',
      '-N1',
      '-n1',
      'bash'
    ]);
  });

  it.each([
    [{ jobId: '123; reboot', node: 'c1' }, /job id "123; reboot" is not a Slurm job id/],
    [{ jobId: null, node: 'c1' }, /job id null/],
    [{ jobId: '--uid=0', node: 'c1' }, /not a Slurm job id/],
    [{ jobId: '123', node: 'c1;rm -rf ~' }, /node "c1;rm -rf ~" is not a Slurm node name/],
    [{ jobId: '123', node: '-wc2' }, /not a Slurm node name/],
    [{ jobId: '123', node: 'c1 c2' }, /not a Slurm node name/]
  ])('refuses a session with hostile values: %j', (s, message) => {
    expect(() => srunShellArgv(s, ['bash'])).toThrow(message);
  });

  it('stays one word per argument when rendered for the login shell: what the user typed cannot become syntax', () => {
    const line = renderRemoteCommand(srunShellArgv({ jobId: '123', node: 'c1' }, ['echo', 'a; touch /tmp/x', '$(id)']));
    expect(line).toBe("srun --jobid=123 --overlap --pty -N1 -n1 -w c1 echo 'a; touch /tmp/x' '$(id)'");
    // The default command is a fixed script, quoted whole.
    expect(renderRemoteCommand(srunShellArgv({ jobId: '1', node: 'c1' }, LOGIN_SHELL))).toBe(
      `srun --jobid=1 --overlap --pty -N1 -n1 -w c1 sh -c 'exec "\${SHELL:-/bin/bash}" -l'`
    );
  });
});

describe('which session hpclab shell opens', () => {
  const alloc = session();
  const lab = session({ id: 'lab000000001', kind: 'lab', node: 'c2', jobId: '124' });
  const kernel = session({ id: 'kern00000001', kind: 'kernel', node: 'c3', jobId: '125' });
  const waiting = session({ id: 'wait00000001', state: 'pending', node: null, jobId: '126' });

  it('takes the only running alloc or Lab session; kernel allocations and pending ones do not count', async () => {
    const companion = fakeCompanion(() => [alloc, kernel, waiting]);
    expect(await shellSession(companion, undefined)).toBe(alloc);
    expect(companion.calls).toEqual([{ method: 'GET', path: '/hpclab/api/sessions' }]);
    expect(
      await shellSession(
        fakeCompanion(() => [lab]),
        undefined
      )
    ).toBe(lab);
  });

  it('lists them and asks for one when there are several', async () => {
    const run = shellSession(
      fakeCompanion(() => [alloc, lab]),
      undefined
    );
    await expect(run).rejects.toThrow(UsageError);
    const message = (await run.catch((e: Error) => e)).message;
    expect(message).toMatch(
      /^SESSION: you have 2 running alloc or lab sessions; name one, e\.g\. hpclab shell abc123def456/
    );
    expect(message).toMatch(/^abc123def456 +alloc +cpu +testbed +running +123 +c1$/m);
    expect(message).toMatch(/^lab000000001 +lab +cpu +testbed +running +124 +c2$/m);
  });

  it('says how to get one when there is none', async () => {
    await expect(
      shellSession(
        fakeCompanion(() => [waiting]),
        undefined
      )
    ).rejects.toThrow(
      /^SESSION: you have no running alloc or lab session; 'hpclab sessions' lists yours, 'hpclab alloc --profile P' holds a node$/
    );
  });

  it('opens the named one, of any kind, once it runs', async () => {
    const companion = fakeCompanion(() => kernel);
    expect(await shellSession(companion, 'kern00000001')).toBe(kernel);
    expect(companion.calls).toEqual([{ method: 'GET', path: '/hpclab/api/sessions/kern00000001' }]);
    await expect(
      shellSession(
        fakeCompanion(() => waiting),
        'wait00000001'
      )
    ).rejects.toThrow(/^session wait00000001 is pending, not running: wait for it/);
  });
});
