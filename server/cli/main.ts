#!/usr/bin/env node
import { HelpRequested, type Command } from './args';
import { companionCommand } from './commands/companion';
import { jobsCommand } from './commands/jobs';
import { kernelLaunchCommand } from './commands/kernel-launch';
import { kernelsCommand } from './commands/kernels';
import { installCommand } from './commands/install';
import { initCommand } from './commands/init';
import { labCommand } from './commands/lab';
import { serveCommand } from './commands/serve';
import { sessionsCommand } from './commands/sessions';
import { submitCommand } from './commands/submit';
import { runsCommand } from './commands/runs';
import { statusCommand } from './commands/status';
import { tunnelCommand } from './commands/tunnel';
import { UsageError } from './context';
import { describeFailure } from './failure';
import { renderCommandHelp, renderOverview } from './help';
import { closest } from './suggest';
import { HPCLAB_VERSION } from '../version';

export const commands: Command[] = [
  initCommand,
  statusCommand,
  jobsCommand,
  sessionsCommand,
  submitCommand,
  runsCommand,
  serveCommand,
  labCommand,
  tunnelCommand,
  kernelsCommand,
  kernelLaunchCommand,
  companionCommand,
  installCommand
];

/** Help wraps to the terminal, within reason; piped output gets 80 columns. */
function helpWidth(): number {
  return Math.max(60, Math.min(process.stdout.columns || 80, 100));
}

/** Runs one command line; returns the exit code. Failures print their reason and next step, never a stack. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === 'help' && rest.length > 0) return main([...rest, '--help']);
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(renderOverview(commands, helpWidth()) + '\n');
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    process.stdout.write(HPCLAB_VERSION + '\n');
    return 0;
  }
  const command = commands.find(c => c.name === name);
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
  const near = flagLike
    ? undefined
    : closest(
        name,
        commands.map(c => c.name)
      );
  return [
    flagLike
      ? `hpclab: unknown flag '${name}' before the command; flags go after it (hpclab COMMAND ${name})`
      : `hpclab: unknown command "${name}"${near ? `; did you mean "hpclab ${near}"?` : ''}`,
    `Commands: ${commands.map(c => c.name).join(', ')}.`,
    "Run 'hpclab --help' for what each does."
  ].join('\n');
}

if (require.main === module) {
  main(process.argv.slice(2)).then(code => {
    process.exitCode = code;
  });
}
