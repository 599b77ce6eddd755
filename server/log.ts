/*
 * The companion's log. A companion runs for hours, often in the background with its stderr in
 * companion.log, and what it does (squeue answers, reconnects, state writes) happens with nobody
 * watching: when a session stops moving, this is where the reason has to be. One entry per line,
 * `<ISO time> <LEVEL> <scope>: <message>[: <error message>]`, so a log reads (and greps) by time
 * and by part. At debug level an error's stack follows on indented lines.
 *
 * Built once per companion (server/main.ts, startCompanion) and handed down as `child(scope)`;
 * constructors default to `stderrLogger`, so a CLI command or a test that passes none still sees
 * warnings. No dependencies: the lowest layers import it.
 */

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

export const LOG_LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug'];

export const LOG_ENV = 'HPCLAB_LOG';

export interface Logger {
  error(message: string, err?: unknown): void;
  warn(message: string, err?: unknown): void;
  info(message: string, err?: unknown): void;
  debug(message: string, err?: unknown): void;
  /** The same log, its entries marked `scope` (below another scope: `parent/scope`). */
  child(scope: string): Logger;
}

export interface LoggerOptions {
  level: LogLevel;
  /** Takes one entry, its newline included. */
  write: (entry: string) => void;
  now?: () => Date;
}

/** The scope of entries made on the root logger, before any `child`. */
const ROOT_SCOPE = 'hpclab';

export function createLogger(options: LoggerOptions): Logger {
  const now = options.now ?? (() => new Date());
  const limit = LOG_LEVELS.indexOf(options.level);
  const make = (scope: string | undefined): Logger => {
    const at = (level: LogLevel) => (message: string, err?: unknown) => {
      if (LOG_LEVELS.indexOf(level) > limit) return;
      options.write(formatEntry(now(), level, scope ?? ROOT_SCOPE, message, err, options.level === 'debug'));
    };
    return {
      error: at('error'),
      warn: at('warn'),
      info: at('info'),
      debug: at('debug'),
      child: s => make(scope ? `${scope}/${s}` : s)
    };
  };
  return make(undefined);
}

/** What `$HPCLAB_LOG` asks for: a level, or info with the words for a warning when it names none. */
export function parseLogLevel(value: string | undefined): { level: LogLevel; problem?: string } {
  const wanted = value?.trim().toLowerCase() ?? '';
  if (wanted === '') return { level: 'info' };
  if ((LOG_LEVELS as readonly string[]).includes(wanted)) return { level: wanted as LogLevel };
  return {
    level: 'info',
    problem: `${LOG_ENV}=${JSON.stringify(value)} is not a log level; logging at info (allowed: ${LOG_LEVELS.join(', ')})`
  };
}

/**
 * The companion's logger: the level from `$HPCLAB_LOG` (default info), or debug with `--verbose`.
 * A value that names no level is said once, at the top of the log, rather than ignored.
 */
export function loggerFromEnv(options: {
  env: NodeJS.ProcessEnv;
  verbose?: boolean;
  write: (entry: string) => void;
  now?: () => Date;
  unset?: LogLevel;
}): Logger {
  const unset = options.unset !== undefined && (options.env[LOG_ENV] ?? '').trim() === '';
  const { level, problem } = options.verbose
    ? { level: 'debug' as const, problem: undefined }
    : unset
      ? { level: options.unset!, problem: undefined }
      : parseLogLevel(options.env[LOG_ENV]);
  const logger = createLogger({ level, write: options.write, now: options.now });
  if (problem) logger.warn(problem);
  return logger;
}

/** What a service logs to when nobody passed it a logger (CLI commands, tests): warnings and errors on stderr. */
export function stderrLogger(scope?: string): Logger {
  const root = createLogger({ level: 'warn', write: entry => process.stderr.write(entry) });
  return scope ? root.child(scope) : root;
}

/** Drops everything: for tests that expect failures and want a quiet run. */
export const silentLogger: Logger = {
  error: () => undefined,
  warn: () => undefined,
  info: () => undefined,
  debug: () => undefined,
  child: () => silentLogger
};

/** The words of an error, whatever was thrown. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

/**
 * For work that repeats on a timer (a poll loop, a heartbeat): a failure is logged when it starts
 * and when its words change, and its end once, not at every tick. The end is logged at the
 * failure's level, so a log read at `warn` still shows that the trouble is over.
 */
export class RepeatedFailures {
  private readonly failing = new Map<string, { message: string; count: number; since: Date }>();

  constructor(
    private readonly logger: Logger,
    private readonly now: () => Date = () => new Date()
  ) {}

  /** One more failure of `key`; `what` says what failed and what it holds up. */
  failed(key: string, what: string, err: unknown): void {
    const message = errorMessage(err);
    const seen = this.failing.get(key);
    if (seen) seen.count++;
    if (seen?.message === message) return;
    this.failing.set(key, { message, count: seen?.count ?? 1, since: seen?.since ?? this.now() });
    this.logger.warn(what, err);
  }

  /** `key` worked: if it was failing, say it no longer is. */
  recovered(key: string, what: string): void {
    const seen = this.failing.get(key);
    if (!seen) return;
    this.failing.delete(key);
    this.logger.warn(
      `${what} (after ${seen.count} failed ${seen.count === 1 ? 'attempt' : 'attempts'} since ${seen.since.toISOString()})`
    );
  }
}

function formatEntry(
  time: Date,
  level: LogLevel,
  scope: string,
  message: string,
  err: unknown,
  withStack: boolean
): string {
  let entry = `${time.toISOString()} ${level.toUpperCase()} ${scope}: ${message}`;
  if (err !== undefined) entry += `: ${errorMessage(err)}`;
  // Continuation lines are indented: every entry, and only an entry, starts with its time.
  entry = entry.replace(/\r?\n/g, '\n  ');
  const stack = withStack ? stackOf(err) : undefined;
  return `${entry}${stack ? `\n${stack}` : ''}\n`;
}

/** The stack frames of an error and of the errors it wraps (`cause`), for debug entries. */
function stackOf(err: unknown): string | undefined {
  const lines: string[] = [];
  let e: unknown = err;
  for (let depth = 0; e instanceof Error && depth < 5; depth++, e = e.cause) {
    if (depth > 0) lines.push(`  caused by: ${errorMessage(e).replace(/\r?\n/g, ' ')}`);
    lines.push(
      ...(e.stack ?? '')
        .split('\n')
        .filter(l => /^\s+at /.test(l))
        .map(l => `    ${l.trim()}`)
    );
  }
  return lines.length > 0 ? lines.join('\n') : undefined;
}
