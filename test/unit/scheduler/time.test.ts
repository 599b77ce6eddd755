import { SchedulerError } from '../../../server/scheduler/errors';
import { formatDuration, parseDuration, parseTimestamp } from '../../../server/scheduler/slurm/time';

describe('parseDuration', () => {
  it.each([
    ['0:00', 0],
    ['5:00', 300],
    ['4:59', 299],
    ['30', 1800],
    ['1:02:03', 3723],
    ['22:57:57', 82677],
    ['1-00:00:00', 86400],
    ['2-12', 2 * 86400 + 12 * 3600],
    ['2-12:30', 2 * 86400 + 12 * 3600 + 1800],
    ['3-01:00:00', 3 * 86400 + 3600],
    [' 1:00 ', 60]
  ])('%s → %d s', (text, seconds) => {
    expect(parseDuration(text)).toBe(seconds);
  });

  it.each(['UNLIMITED', 'infinite', 'INVALID', 'NOT_SET', 'N/A', ''])('%s → null', text => {
    expect(parseDuration(text)).toBeNull();
  });

  it.each(['1h', '1:2:3:4', '-5', 'soon'])('rejects %s', text => {
    expect(() => parseDuration(text)).toThrow(SchedulerError);
  });
});

describe('parseTimestamp', () => {
  it('reads Slurm local time as local time', () => {
    expect(parseTimestamp('2026-11-22T01:02:03')).toEqual(new Date(2026, 10, 22, 1, 2, 3));
  });

  it.each(['N/A', 'Unknown', 'None', '(null)', ''])('%s → null', text => {
    expect(parseTimestamp(text)).toBeNull();
  });

  it.each(['Tomorr 01:02', '2026-02-31T00:00:00', '2026-11-22 01:02:03'])('rejects %s', text => {
    expect(() => parseTimestamp(text)).toThrow(/unrecognized Slurm timestamp/);
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '00:00:00'],
    [59, '00:00:59'],
    [3723, '01:02:03'],
    [86400, '1-00:00:00'],
    [2 * 86400 + 3600 + 61, '2-01:01:01']
  ])('%d s → %s', (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
    expect(parseDuration(text)).toBe(seconds);
  });
});
