import {
  createLogger,
  loggerFromEnv,
  parseLogLevel,
  RepeatedFailures,
  silentLogger,
  type LogLevel
} from '../../server/log';

/* The companion's log: the line format, levels, $HPCLAB_LOG, scopes, and repeated failures said once. */

const NOW = new Date('2025-03-04T05:06:07.089Z');

function capture(level: LogLevel) {
  const entries: string[] = [];
  const logger = createLogger({ level, write: e => entries.push(e), now: () => NOW });
  return { logger, entries };
}

describe('createLogger', () => {
  it('writes one line per entry: time, level, scope, message, and the error message', () => {
    const { logger, entries } = capture('info');
    logger.info('started');
    logger.child('sessions').warn('cannot save the session state', new Error('EACCES: permission denied'));
    logger.child('ssh testbed').error('lost', 'not an Error');
    expect(entries).toEqual([
      '2025-03-04T05:06:07.089Z INFO hpclab: started\n',
      '2025-03-04T05:06:07.089Z WARN sessions: cannot save the session state: EACCES: permission denied\n',
      '2025-03-04T05:06:07.089Z ERROR ssh testbed: lost: not an Error\n'
    ]);
  });

  it('keeps only entries at or above its level', () => {
    const levels: LogLevel[] = ['error', 'warn', 'info', 'debug'];
    const kept = levels.map(level => {
      const { logger, entries } = capture(level);
      for (const l of levels) logger[l](l);
      return entries.map(e => e.split(' ')[1]);
    });
    expect(kept).toEqual([['ERROR'], ['ERROR', 'WARN'], ['ERROR', 'WARN', 'INFO'], ['ERROR', 'WARN', 'INFO', 'DEBUG']]);
  });

  it('nests child scopes', () => {
    const { logger, entries } = capture('info');
    logger.child('kernels').child('k0123').info('ready');
    expect(entries).toEqual(['2025-03-04T05:06:07.089Z INFO kernels/k0123: ready\n']);
  });

  it('indents continuation lines, so a message (or a name in it) cannot forge an entry', () => {
    const { logger, entries } = capture('info');
    logger.warn(
      'config file x does not load:\nprofiles.cpu.cluster: unknown',
      new Error('one\n2025-01-01T00:00:00.000Z ERROR fake: entry')
    );
    expect(entries).toHaveLength(1);
    expect(
      entries[0]
        .split('\n')
        .slice(1, -1)
        .every(line => line.startsWith('  '))
    ).toBe(true);
  });

  it('adds the stack, and the stacks of causes, only at debug level', () => {
    const err = new Error('outer', { cause: new Error('inner') });
    const quiet = capture('info');
    quiet.logger.error('failed', err);
    expect(quiet.entries).toEqual(['2025-03-04T05:06:07.089Z ERROR hpclab: failed: outer\n']);
    const verbose = capture('debug');
    verbose.logger.error('failed', err);
    const lines = verbose.entries[0].trimEnd().split('\n');
    expect(lines[0]).toBe('2025-03-04T05:06:07.089Z ERROR hpclab: failed: outer');
    expect(lines[1]).toMatch(/^ {4}at /);
    expect(lines).toContain('  caused by: inner');
  });
});

describe('HPCLAB_LOG', () => {
  it('names a level, any case; empty or unset is info', () => {
    expect(parseLogLevel('debug')).toEqual({ level: 'debug' });
    expect(parseLogLevel(' WARN ')).toEqual({ level: 'warn' });
    expect(parseLogLevel('error')).toEqual({ level: 'error' });
    expect(parseLogLevel('')).toEqual({ level: 'info' });
    expect(parseLogLevel(undefined)).toEqual({ level: 'info' });
  });

  it('falls back to info on anything else, with one warning naming the variable and the levels', () => {
    const entries: string[] = [];
    const logger = loggerFromEnv({ env: { HPCLAB_LOG: 'loud' }, write: e => entries.push(e), now: () => NOW });
    logger.info('kept');
    logger.debug('dropped');
    expect(entries).toEqual([
      '2025-03-04T05:06:07.089Z WARN hpclab: HPCLAB_LOG="loud" is not a log level; logging at info (allowed: error, warn, info, debug)\n',
      '2025-03-04T05:06:07.089Z INFO hpclab: kept\n'
    ]);
  });

  it('is the level of the logger from the environment; --verbose means debug', () => {
    const entries: string[] = [];
    loggerFromEnv({ env: { HPCLAB_LOG: 'error' }, write: e => entries.push(e) }).warn('dropped');
    loggerFromEnv({ env: { HPCLAB_LOG: 'error' }, verbose: true, write: e => entries.push(e) }).debug('kept');
    loggerFromEnv({ env: { HPCLAB_LOG: 'loud' }, verbose: true, write: e => entries.push(e) }).debug(
      'no warning either'
    );
    expect(entries.map(e => e.replace(/^\S+ /, ''))).toEqual([
      'DEBUG hpclab: kept\n',
      'DEBUG hpclab: no warning either\n'
    ]);
  });
});

describe('RepeatedFailures', () => {
  it('logs a failure when it starts and when its words change, then its end once', () => {
    const { logger, entries } = capture('info');
    const failures = new RepeatedFailures(logger.child('sessions'), () => NOW);
    failures.recovered('squeue a', 'never failed: nothing to say');
    for (let i = 0; i < 5; i++) failures.failed('squeue a', 'squeue on a failed', new Error('slurmctld down'));
    failures.failed('squeue b', 'squeue on b failed', new Error('slurmctld down')); // another key: its own entry
    failures.failed('squeue a', 'squeue on a failed', new Error('connection lost'));
    failures.recovered('squeue a', 'squeue on a answers again');
    failures.recovered('squeue a', 'said once');
    expect(entries.map(e => e.replace(/^\S+ /, ''))).toEqual([
      'WARN sessions: squeue on a failed: slurmctld down\n',
      'WARN sessions: squeue on b failed: slurmctld down\n',
      'WARN sessions: squeue on a failed: connection lost\n',
      'WARN sessions: squeue on a answers again (after 6 failed attempts since 2025-03-04T05:06:07.089Z)\n'
    ]);
  });
});

it('silentLogger takes everything and says nothing', () => {
  expect(() => silentLogger.child('x').error('boom', new Error('e'))).not.toThrow();
});
