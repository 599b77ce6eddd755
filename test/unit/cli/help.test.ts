import { allFlags, HelpRequested, parseCommandArgs, type Command } from '../../../server/cli/args';
import { flagLabel, renderCommandHelp, renderOverview } from '../../../server/cli/help';
import { allCommands } from '../../../server/cli/main';

const commands = allCommands();
import { HPCLAB_VERSION } from '../../../server/version';
import { runCli } from './capture';

/** The lines of one section of a command's help, up to a blank line before an unindented one. */
function section(help: string, heading: string): string {
  const start = `\n${help}`.indexOf(`\n${heading}:\n`);
  if (start < 0) return '';
  const rest = help.slice(start + heading.length + 2);
  const end = rest.search(/\n\n(?! )/);
  return end < 0 ? rest : rest.slice(0, end);
}

/** A value parseArgs takes for the flag, so each flag can be shown to parse. */
const sample = (name: string, command: Command) =>
  allFlags(command)[name].type === 'string' ? [`--${name}`, 'x'] : [`--${name}`];

describe.each(commands.map(c => [c.name, c] as const))('hpclab %s --help', (_name, command) => {
  const help = renderCommandHelp(command, 80);
  // The same object parseCommandArgs parses with: a flag added without a description fails here.
  const flags = Object.entries(allFlags(command));

  it('describes every flag the command accepts, --config and --help included', () => {
    const listed = section(help, 'Flags');
    expect(flags.map(([name]) => name)).toEqual(expect.arrayContaining(['config', 'help']));
    for (const [name, flag] of flags) {
      expect(flag.description.trim().length).toBeGreaterThan(10);
      expect(listed).toContain(flagLabel(name, flag).trim());
      expect(listed.replace(/\s+/g, ' ')).toContain(flag.description.split(/\s+/).slice(0, 4).join(' '));
    }
  });

  it('accepts exactly the flags its help lists', () => {
    for (const [name] of flags.filter(([n]) => n !== 'help')) {
      // Positionals a command needs are checked after parsing; here only the flags matter.
      expect(() => parseCommandArgs(command, sample(name, command))).not.toThrow();
    }
    expect(() => parseCommandArgs(command, ['--not-a-flag'])).toThrow(/unknown option '--not-a-flag'/);
    expect(() => parseCommandArgs(command, ['--help'])).toThrow(HelpRequested);
  });

  it('names only accepted flags in its usage lines', () => {
    for (const line of command.usage) {
      expect(line).toMatch(new RegExp(`^hpclab ${command.name}\\b`));
      for (const [flag] of line.matchAll(/--[\w-]+/g)) expect(Object.keys(allFlags(command))).toContain(flag.slice(2));
    }
    expect(
      section(help, 'Usage')
        .trim()
        .split('\n')
        .map(l => l.trim())
    ).toEqual(command.usage);
  });

  it('has a description, examples of itself, and the environment it reads', () => {
    expect(help.split('\n\n')[1].trim().length).toBeGreaterThan(20);
    expect(command.examples.length).toBeGreaterThanOrEqual(1);
    for (const e of command.examples) expect(e.command).toMatch(new RegExp(`^hpclab ${command.name}\\b`));
    expect(section(help, 'Examples')).toContain(`$ ${command.examples[0].command}`);
    expect(command.env.length).toBeGreaterThan(0);
    for (const name of command.env) expect(section(help, 'Environment')).toMatch(new RegExp(`^ {2}${name} +\\S`, 'm'));
  });

  it('documents its positional arguments exactly when it takes some', () => {
    if (command.arguments?.length)
      for (const a of command.arguments) expect(section(help, 'Arguments')).toContain(a.name);
    else expect(() => parseCommandArgs(command, ['stray'])).toThrow(/unexpected argument 'stray'/);
  });

  it('is what `hpclab NAME --help` and `hpclab help NAME` print, with exit 0', async () => {
    for (const argv of [
      [command.name, '--help'],
      [command.name, '-h'],
      ['help', command.name]
    ]) {
      const r = await runCli(argv);
      expect(r).toMatchObject({ code: 0, stderr: '' });
      expect(r.stdout).toContain(section(help, 'Flags').split('\n')[0]);
      expect(r.stdout).toMatch(/^Usage:\n {2}hpclab /);
    }
  });
});

describe('hpclab --help', () => {
  it('lists every command with its summary and says how to get more', () => {
    const text = renderOverview(commands, 200);
    for (const c of commands)
      expect(text).toMatch(new RegExp(`^ {2}${c.name} +${c.summary.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
    expect(text).toContain("Run 'hpclab COMMAND --help'");
    expect(text).toMatch(/-V, --version/);
  });

  it('wraps to the width it is given', () => {
    for (const line of renderOverview(commands, 60).split('\n')) expect(line.length).toBeLessThanOrEqual(60);
    for (const c of commands)
      for (const line of renderCommandHelp(c, 80)
        .split('\n')
        .filter(l => !l.startsWith('  $ ') && !l.startsWith('  hpclab ')))
        expect(line.length).toBeLessThanOrEqual(80);
  });

  it('exits 0 on --help, 2 without a command', async () => {
    expect(await runCli(['--help'])).toMatchObject({ code: 0, stderr: '' });
    expect((await runCli([])).code).toBe(2);
  });
});

describe('hpclab -V', () => {
  it.each([['-V'], ['--version'], ['version']])('%s prints the version and nothing else', async flag => {
    expect(await runCli([flag])).toEqual({ code: 0, stdout: `${HPCLAB_VERSION}\n`, stderr: '' });
    expect(HPCLAB_VERSION).toMatch(/^\d+\.\d+\.\d+/);
  });
});
