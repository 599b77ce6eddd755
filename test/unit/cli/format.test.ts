import { bytesText, historyTable } from '../../../server/cli/format';
import { parseHistory } from '../../../server/scheduler/slurm/parse-sacct';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

const recorded = () =>
  parseHistory(readFileSync(path.join(__dirname, '../../fixtures/slurm/sacct-history.txt'), 'utf8'));

describe('bytesText', () => {
  test.each([
    [null, '-'],
    [0, '0B'],
    [1023, '1023B'],
    [1024, '1.0K'],
    [1536, '1.5K'],
    [219_844_608, '210M'],
    [2 ** 30, '1.0G'],
    [15 * 2 ** 30, '15G'],
    [3 * 2 ** 50, '3072T']
  ])('%p → %s', (bytes, text) => {
    expect(bytesText(bytes)).toBe(text);
  });
});

describe('historyTable', () => {
  test('says so when nothing ran', () => {
    expect(historyTable([])).toBe('No jobs in that time.');
  });

  test('one row per job with state, exit, elapsed and efficiency as seff reports them', () => {
    const jobs = recorded();
    const lines = historyTable(jobs).split('\n');
    expect(lines[0].split(/\s{2,}/)).toEqual([
      'JOBID',
      'NAME',
      'STATE',
      'EXIT',
      'ELAPSED',
      'CPUS',
      'CPU EFF',
      'MEM PEAK/ASKED',
      'MEM EFF',
      'END (UTC)'
    ]);
    expect(lines).toHaveLength(jobs.length + 1);
    const first = lines[1].split(/\s{2,}/);
    // Job 17 of the recording: 2 CPUs for 4 s, 2.217 s of CPU, 210M peak of 1024M asked.
    expect(first.slice(0, 9)).toEqual([
      '17',
      'hpclab-s1',
      'COMPLETED',
      '0',
      '00:00:04',
      '2',
      '28%',
      '210M/1.0G',
      '20%'
    ]);
    expect(first[9]).toBe(jobs[0].end!.toISOString().replace('T', ' ').slice(0, 19));
  });

  test('a name with a newline or an escape stays on its row', () => {
    const [job] = recorded();
    const lines = historyTable([{ ...job, name: 'two\nlines\u001b[31m' }]).split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain('two?lines?[31m');
  });

  test('a job that never ran shows dashes, not zeros', () => {
    const [job] = recorded();
    const never = { ...job, exitCode: null, cpuEfficiency: null, memEfficiency: null, maxRssBytes: null, end: null };
    const cells = historyTable([never])
      .split('\n')[1]
      .split(/\s{2,}/);
    expect([cells[3], cells[6], cells[7], cells[8], cells[9]]).toEqual(['-', '-', '-/1.0G', '-', '-']);
  });
});
