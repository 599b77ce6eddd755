import type { Job, PartitionSummary } from '../scheduler/types';

/** Plain-text tables for the terminal; `--json` output never goes through here. */
export function table(headers: string[], rows: string[][]): string {
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
