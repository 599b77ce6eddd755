import { allFlags, type Command, type Flag } from './args';

/** What each environment variable hpclab reads does; commands name the ones they read. */
const ENV_DOCS = {
  HPCLAB_CONFIG: 'the config file, when --config is not given',
  HPCLAB_LOG:
    'how much the companion logs on stderr (a background companion: to companion.log in the state dir): error, warn, info (default) or debug, which --verbose also sets',
  XDG_CONFIG_HOME:
    'the config is $XDG_CONFIG_HOME/hpclab/config.json when neither --config nor $HPCLAB_CONFIG is set (default ~/.config)',
  XDG_STATE_HOME: 'sessions, caches and the companion log live in $XDG_STATE_HOME/hpclab (default ~/.local/state)',
  XDG_RUNTIME_DIR:
    "the companion's socket and runtime file live in $XDG_RUNTIME_DIR/hpclab (default: the state dir's run/)",
  SSH_AUTH_SOCK: 'the ssh-agent to log in with, unless the cluster sets "agent": false',
  SHELL: 'runs a ProxyCommand from ~/.ssh/config (default /bin/sh)',
  TERM: 'the terminal type hpclab shell asks for on the node (default xterm-256color)',
  JUPYTER_DATA_DIR:
    "Jupyter's data dir (kernels/, labextensions/); default ~/.local/share/jupyter, ~/Library/Jupyter on macOS, %APPDATA%\\jupyter on Windows",
  XDG_DATA_HOME: "Jupyter's data dir is $XDG_DATA_HOME/jupyter on Linux when $JUPYTER_DATA_DIR is unset",
  CI: 'when set (or when stderr is not a terminal), progress is printed line by line instead of a spinner'
} as const;

export type EnvName = keyof typeof ENV_DOCS;

/** What `hpclab --help` and every `--help` end with, so users know there is more. */
const MORE = "Run 'hpclab COMMAND --help' for a command's flags, examples and environment.";

/** `hpclab --help`: every command with its summary. */
export function renderOverview(commands: readonly Command[], width = 80): string {
  return [
    'hpclab: Jupyter on HPC compute nodes.',
    '',
    'Usage:',
    '  hpclab COMMAND [flags]',
    '  hpclab -V | --version | version',
    '',
    'Commands:',
    ...columns(
      commands.map(c => [c.name, c.summary]),
      width
    ),
    '',
    'Flags:',
    ...columns(
      [
        ['-h, --help', 'show this help'],
        ['-V, --version', "print hpclab's version"]
      ],
      width
    ),
    '',
    ...wrap(
      `Every command takes --config FILE (default: $HPCLAB_CONFIG, else $XDG_CONFIG_HOME/hpclab/config.json, else ~/.config/hpclab/config.json).`,
      width,
      ''
    ),
    ...wrap(MORE, width, '')
  ].join('\n');
}

/** `hpclab CMD --help`: usage, what it does, arguments, flags, examples, environment. */
export function renderCommandHelp(command: Command, width = 80): string {
  const lines = [
    'Usage:',
    ...command.usage.map(u => `  ${u}`),
    '',
    ...wrap(command.description ?? `${command.summary}.`, width, '')
  ];
  if (command.arguments?.length)
    lines.push(
      '',
      'Arguments:',
      ...columns(
        command.arguments.map(a => [a.name, a.description]),
        width
      )
    );
  lines.push(
    '',
    'Flags:',
    ...columns(
      Object.entries(allFlags(command)).map(([name, flag]) => [flagLabel(name, flag), flag.description]),
      width
    )
  );
  if (command.examples.length) {
    lines.push('', 'Examples:');
    command.examples.forEach((e, i) =>
      lines.push(...(i ? [''] : []), ...wrap(e.description, width, '  # '), `  $ ${e.command}`)
    );
  }
  if (command.env.length)
    lines.push(
      '',
      'Environment:',
      ...columns(
        command.env.map(name => [name, ENV_DOCS[name]]),
        width
      )
    );
  return lines.join('\n');
}

/** `-h, --help` or `    --port N`: long names line up whether or not a flag has a short form. */
export function flagLabel(name: string, flag: Flag): string {
  const long = `--${name}${flag.type === 'string' ? ` ${flag.value ?? 'VALUE'}` : ''}${flag.multiple ? ' (repeatable)' : ''}`;
  return flag.short ? `-${flag.short}, ${long}` : `    ${long}`;
}

/** Two aligned columns, the right one wrapped under itself; a left cell too wide gets its own line. */
function columns(rows: string[][], width: number): string[] {
  const left = Math.min(Math.max(...rows.map(([l]) => l.length)), 24);
  const indent = ' '.repeat(2 + left + 3);
  return rows.flatMap(([l, r]) => {
    const body = wrap(r, width, indent);
    if (l.length > left) return [`  ${l}`, ...body];
    return [`  ${l.padEnd(left)}   ${body[0].trimStart()}`, ...body.slice(1)];
  });
}

/** Greedy word wrap; every line starts with `indent`. */
function wrap(text: string, width: number, indent: string): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && indent.length + line.length + 1 + word.length > width) {
      out.push(indent + line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  out.push(indent + line);
  return out;
}
