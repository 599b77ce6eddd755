import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './context';
import type { EnvName } from './help';
import { closest } from './suggest';

/** One flag of a command: what parseArgs needs, plus what `--help` says about it. */
export interface Flag {
  type: 'string' | 'boolean';
  short?: string;
  /** The value's placeholder in help, e.g. `N` in `--port N`; string flags only. */
  value?: string;
  /** May be given more than once (`--sbatch a=1 --sbatch b=2`): the values in order. */
  multiple?: boolean;
  description: string;
}

export type Flags = Record<string, Flag>;

export interface Command {
  name: string;
  summary: string;
  /** Synopsis lines, each a whole command line (`hpclab jobs [--json]`). */
  usage: string[];
  /** What the command does, in a sentence or two, for `--help`. */
  description?: string;
  /** The command's own flags; `--config` and `--help` are added to every command. */
  flags: Flags;
  /** Positional arguments; a command without them rejects any. */
  arguments?: { name: string; description: string }[];
  examples: { command: string; description: string }[];
  /** Environment variables the command reads (directly or through what it starts). */
  env: EnvName[];
  run(argv: string[]): Promise<number>;
}

/** The flags every command takes. */
export const COMMON_FLAGS = {
  config: {
    type: 'string',
    value: 'FILE',
    description:
      'the config file (default: $HPCLAB_CONFIG, else $XDG_CONFIG_HOME/hpclab/config.json, else ~/.config/hpclab/config.json)'
  },
  help: { type: 'boolean', short: 'h', description: 'show this help' }
} as const satisfies Flags;

export type ParsedArgs<F extends Flags> = {
  values: {
    [K in keyof F]?: F[K]['type'] extends 'boolean' ? boolean : F[K]['multiple'] extends true ? string[] : string;
  } & { config?: string };
  positionals: string[];
};

type CommandSpec<F extends Flags> = Omit<Command, 'flags' | 'run'> & {
  flags: F;
  run(args: ParsedArgs<F>): Promise<number>;
};

/**
 * A command whose flags are parsed from the same object its `--help` describes, so a flag
 * cannot be accepted without being documented (or documented without being accepted).
 */
export function defineCommand<const F extends Flags>(spec: CommandSpec<F>): Command {
  // async: a usage mistake is a rejected promise, like any failure of run().
  const command: Command = { ...spec, run: async argv => spec.run(parseCommandArgs(command, argv) as ParsedArgs<F>) };
  return command;
}

/**
 * Strict flags for one command, plus `--config` and `--help`. Unknown flags, missing values and
 * unexpected arguments become a UsageError naming the word, the closest flag, and the usage.
 */
export function parseCommandArgs(command: Command, argv: string[]): ParsedArgs<Flags> {
  const options = allFlags(command);
  let parsed: ParsedArgs<Flags>;
  try {
    parsed = parseArgs({
      args: argv,
      options: options as NonNullable<ParseArgsConfig['options']>,
      allowPositionals: !!command.arguments?.length,
      strict: true
    }) as ParsedArgs<Flags>;
  } catch (err) {
    throw new UsageError(
      `${explainParseError(command, argv, err)}\nusage: ${command.usage.join('\n       ')}\nRun 'hpclab ${command.name} --help' for every flag.`
    );
  }
  if (parsed.values.help) throw new HelpRequested(command);
  return parsed;
}

/**
 * The command's flags, then the common ones, in the order help lists them. A command may
 * redescribe a common flag (`install` reads no config), not change how it parses.
 */
export function allFlags(command: Pick<Command, 'flags'>): Flags {
  const all: Flags = { ...command.flags };
  for (const [name, flag] of Object.entries(COMMON_FLAGS)) {
    delete all[name];
    all[name] = { ...flag, description: command.flags[name]?.description ?? flag.description };
  }
  return all;
}

/** Node's parseArgs messages, reworded to say what to type instead. */
function explainParseError(command: Command, argv: string[], err: unknown): string {
  const { code, message } = err as { code?: string; message: string };
  const word = /'([^']*)'/.exec(message)?.[1] ?? '';
  const names = Object.keys(allFlags(command)).map(n => `--${n}`);
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    return `unknown option '${word}'; ${suggestFlag(word, argv, names) ?? `hpclab ${command.name} takes ${names.join(', ')}`}`;
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const flag = /--[\w-]+/.exec(word)?.[0] ?? word;
    const spec = allFlags(command)[flag.slice(2)];
    if (spec?.type === 'boolean') return `${flag} takes no value: write ${flag} alone`;
    return `${flag} needs a value: ${flag} ${spec?.value ?? 'VALUE'}`;
  }
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL')
    return `unexpected argument '${word}': hpclab ${command.name} takes flags only`;
  return message;
}

/** `did you mean --json?` for `--jsn`, and for `-json` (one dash, which parseArgs reads as -j -s -o -n). */
function suggestFlag(word: string, argv: string[], names: string[]): string | undefined {
  const oneDash = argv.find(a => /^-[^-]{2,}/.test(a) && a.startsWith(word) && names.includes(`-${a.split('=')[0]}`));
  if (oneDash) return `did you mean -${oneDash.split('=')[0]}?`;
  const typed = word.startsWith('--') ? word.split('=')[0] : `--${word.replace(/^-/, '')}`;
  const near = closest(typed, names);
  return near ? `did you mean ${near}?` : undefined;
}

/** `--help` on a command: main prints the command's help and exits 0. */
export class HelpRequested extends Error {
  constructor(readonly command: Command) {
    super(`help for hpclab ${command.name}`);
  }
}
