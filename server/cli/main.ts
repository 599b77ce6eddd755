#!/usr/bin/env node
import { HelpRequested, type Command } from './args';
import { UsageError } from './context';
import { describeFailure } from './failure';
import { renderCommandHelp, renderOverview } from './help';
import { closest } from './suggest';
import { HPCLAB_VERSION } from '../version';

/**
 * Every command, by name, with how to load it, in the order help lists them. A command's module
 * loads only when it runs (or for help): a kernel's start waits on the launcher's, and loading
 * the companion's server for it cost a third of a second. Each require names its module plainly,
 * so a bundler (the wheel's companion) follows it as it would an import; import() would make
 * the command list asynchronous for help and tests.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
const COMMAND_MODULES: readonly (readonly [name: string, load: () => Command])[] = [
  ['init', () => require('./commands/init').initCommand],
  ['status', () => require('./commands/status').statusCommand],
  ['jobs', () => require('./commands/jobs').jobsCommand],
  ['sessions', () => require('./commands/sessions').sessionsCommand],
  ['alloc', () => require('./commands/alloc').allocCommand],
  ['shell', () => require('./commands/shell').shellCommand],
  ['release', () => require('./commands/release').releaseCommand],
  ['submit', () => require('./commands/submit').submitCommand],
  ['runs', () => require('./commands/runs').runsCommand],
  ['sync', () => require('./commands/sync').syncCommand],
  ['workspace', () => require('./commands/workspace').workspaceCommand],
  ['serve', () => require('./commands/serve').serveCommand],
  ['lab', () => require('./commands/lab').labCommand],
  ['tunnel', () => require('./commands/tunnel').tunnelCommand],
  ['kernels', () => require('./commands/kernels').kernelsCommand],
  ['envs', () => require('./commands/envs').envsCommand],
  ['kernel-launch', () => require('./commands/kernel-launch').kernelLaunchCommand],
  ['companion', () => require('./commands/companion').companionCommand],
  ['install', () => require('./commands/install').installCommand]
];
/* eslint-enable @typescript-eslint/no-require-imports */

function loadCommand([, load]: readonly [string, () => Command]): Command {
  return load();
}

/** The command names, without loading any command. */
export const commandNames: readonly string[] = COMMAND_MODULES.map(([file]) => file);

/** Every command, loaded (help lists them all). */
export function allCommands(): Command[] {
  return COMMAND_MODULES.map(loadCommand);
}

/** Help wraps to the terminal, within reason; piped output gets 80 columns. */
function helpWidth(): number {
  return Math.max(60, Math.min(process.stdout.columns || 80, 100));
}

/** Runs one command line; returns the exit code. Failures print their reason and next step, never a stack. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === 'help' && rest.length > 0) return main([...rest, '--help']);
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(renderOverview(allCommands(), helpWidth()) + '\n');
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    process.stdout.write(HPCLAB_VERSION + '\n');
    return 0;
  }
  const entry = COMMAND_MODULES.find(([file]) => file === name);
  const command = entry && loadCommand(entry);
  if (!command) {
    process.stderr.write(unknownCommand(name) + '\n');
    return 2;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof HelpRequested) {
      process.stdout.write(renderCommandHelp(err.command, helpWidth()) + '\n');
      return 0;
    }
    process.stderr.write(`hpclab ${name}: ${describeFailure(err)}\n`);
    return err instanceof UsageError ? 2 : 1;
  }
}

/** The closest command, if one is near, and the list of them all. */
export function unknownCommand(name: string): string {
  const flagLike = name.startsWith('-');
  const near = flagLike ? undefined : closest(name, [...commandNames]);
  return [
    flagLike
      ? `hpclab: unknown flag '${name}' before the command; flags go after it (hpclab COMMAND ${name})`
      : `hpclab: unknown command "${name}"${near ? `; did you mean "hpclab ${near}"?` : ''}`,
    `Commands: ${commandNames.join(', ')}.`,
    "Run 'hpclab --help' for what each does."
  ].join('\n');
}

if (require.main === module) {
  main(process.argv.slice(2)).then(code => {
    process.exitCode = code;
  });
}
