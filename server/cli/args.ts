import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './context';

export interface Command {
  name: string;
  summary: string;
  usage: string;
  run(argv: string[]): Promise<number>;
}

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * Strict flags for one command, with `--config` and `--help` on every command. Unknown flags
 * and missing values become a UsageError naming the flag.
 */
export function parseCommandArgs<O extends Options>(command: Command, argv: string[], options: O, allowPositionals = false) {
  const all = { ...options, config: { type: 'string' }, help: { type: 'boolean', short: 'h' } } as const;
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options: all as Options, allowPositionals, strict: true });
  } catch (err) {
    throw new UsageError(`${(err as Error).message.replace(/^Unknown option/, 'unknown option')}\nusage: ${command.usage}`);
  }
  if (parsed.values.help) throw new HelpRequested(command);
  return parsed as unknown as { values: { [K in keyof O]?: O[K]['type'] extends 'boolean' ? boolean : string } & { config?: string }; positionals: string[] };
}

/** `--help` on a command: print its usage and exit 0. */
export class HelpRequested extends Error {
  constructor(readonly command: Command) {
    super(`${command.summary}\n\nusage: ${command.usage}`);
  }
}
