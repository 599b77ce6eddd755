import type { HistoryJob, Job, PartitionSummary } from '../scheduler/types';

/** A cell as one line: a job name may hold a newline or an escape sequence (sbatch takes them). */
const printable = (cell: string) => cell.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');

/** Plain-text tables for the terminal; `--json` output never goes through here. */
export function table(headers: string[], cells: string[][]): string {
  const rows = cells.map(r => r.map(printable));
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map(r => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

export function duration(seconds: number | null): string {
  if (seconds === null) return 'unlimited';
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const hms = `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}`;
  return d > 0 ? `${d}-${hms}` : hms;
}

export function gpuText(p: PartitionSummary): string {
  if (p.gpus.length === 0) return '-';
  return p.gpus.map(g => `${g.type || 'gpu'} ${g.total - g.used}/${g.total} free`).join(', ');
}

export function partitionsTable(partitions: PartitionSummary[]): string {
  return table(
    ['PARTITION', 'AVAIL', 'NODES idle/mix/alloc/down', 'CPUS idle/total', 'GPUS'],
    partitions.map(p => [
      p.name + (p.isDefault ? '*' : ''),
      p.available,
      `${p.nodes.idle}/${p.nodes.mixed}/${p.nodes.allocated}/${p.nodes.down}`,
      `${p.cpus.idle}/${p.cpus.total}`,
      gpuText(p)
    ])
  );
}

/** Where a job is: its nodes when running, else why it waits and when it may start. */
export function whereText(job: Job): string {
  if (job.state === 'PENDING') {
    const start = job.startTime ? `, start ~${job.startTime.toISOString().slice(0, 16).replace('T', ' ')}` : '';
    return `(${job.reason ?? 'waiting'}${start})`;
  }
  return job.nodes ?? '';
}

export function jobsTable(jobs: Job[]): string {
  if (jobs.length === 0) return 'No jobs.';
  return table(
    ['JOBID', 'NAME', 'PARTITION', 'STATE', 'TIME', 'LEFT', 'GRES', 'NODES (REASON)'],
    jobs.map(j => [
      j.id,
      j.name,
      j.partition,
      j.state,
      duration(j.timeUsed),
      j.state === 'RUNNING' ? duration(j.timeLeft) : duration(j.timeLimit),
      j.gres ?? '-',
      whereText(j)
    ])
  );
}

/** `1.2 MB`: file sizes in decimal units, as `ls -h --si` and transfer tools say them. */
export function sizeText(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let u = -1;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}

/** `1.5G`, `300M`: memory in the units Slurm users read. */
export function bytesText(bytes: number | null): string {
  if (bytes === null) return '-';
  const units = ['B', 'K', 'M', 'G', 'T'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value >= 10 || unit === 0 ? Math.round(value) : value.toFixed(1)}${units[unit]}`;
}

const percent = (ratio: number | null) => (ratio === null ? '-' : `${Math.round(ratio * 100)}%`);

/** Finished jobs as `seff` would judge them: CPU and memory used of what was asked. */
export function historyTable(jobs: HistoryJob[]): string {
  if (jobs.length === 0) return 'No jobs in that time.';
  return table(
    ['JOBID', 'NAME', 'STATE', 'EXIT', 'ELAPSED', 'CPUS', 'CPU EFF', 'MEM PEAK/ASKED', 'MEM EFF', 'END (UTC)'],
    jobs.map(j => [
      j.jobId,
      j.name,
      j.state,
      j.exitCode === null ? '-' : String(j.exitCode),
      duration(j.elapsedSeconds),
      String(j.cpus),
      percent(j.cpuEfficiency),
      `${bytesText(j.maxRssBytes)}/${bytesText(j.reqMemBytes)}`,
      percent(j.memEfficiency),
      j.end ? j.end.toISOString().replace('T', ' ').slice(0, 19) : '-'
    ])
  );
}
