#!/usr/bin/env node
import { ConfigError } from '../config/load';
import { SchedulerError } from '../scheduler/errors';
import { TransportError } from '../transport/errors';
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
import { statusCommand } from './commands/status';
import { tunnelCommand } from './commands/tunnel';
import { UsageError } from './context';
import { HPCLAB_VERSION } from '../version';

const commands: Command[] = [initCommand, statusCommand, jobsCommand, sessionsCommand, serveCommand, labCommand, tunnelCommand, kernelsCommand, kernelLaunchCommand, companionCommand, installCommand];

function help(): string {
  const width = Math.max(...commands.map(c => c.name.length));
  return [
    'hpclab: Jupyter on HPC compute nodes.',
    '',
    'usage: hpclab <command> [options]   (hpclab <command> --help for more)',
    '',
    ...commands.map(c => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Every command takes --config FILE (else $HPCLAB_CONFIG, else ~/.config/hpclab/config.json).'
  ].join('\n');
}

/** Runs one command line; returns the exit code. Failures print one line, never a stack. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(help() + '\n');
    return name ? 0 : 2;
  }
  if (name === '--version') {
    process.stdout.write(HPCLAB_VERSION + '\n');
    return 0;
  }
  const command = commands.find(c => c.name === name);
  if (!command) {
    process.stderr.write(`hpclab: unknown command "${name}"\n\n${help()}\n`);
    return 2;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof HelpRequested) {
      process.stdout.write(err.message + '\n');
      return 0;
    }
    process.stderr.write(`hpclab ${name}: ${describe(err)}\n`);
    return err instanceof UsageError ? 2 : 1;
  }
}

function describe(err: unknown): string {
  if (err instanceof ConfigError || err instanceof UsageError) return err.message;
  if (err instanceof TransportError) return `${err.cluster ? `cluster ${err.cluster}: ` : ''}${err.message}`;
  if (err instanceof SchedulerError) return `Slurm: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

if (require.main === module) {
  main(process.argv.slice(2)).then(code => {
    process.exitCode = code;
  });
}
