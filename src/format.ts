import type { Job, Partition, Session } from './contract';
import type { Words } from './translate';

/** `3725` → `1:02:05`; days as `2-03:00:00`, like Slurm. */
export function hms(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = `${d > 0 ? String(h).padStart(2, '0') : h}:${String(m).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
  return d > 0 ? `${d}-${rest}` : rest;
}

/** Seconds until the session's walltime, or null when it has none. */
export function secondsLeft(session: Session, now = Date.now()): number | null {
  return session.endsAt ? Math.max(0, (Date.parse(session.endsAt) - now) / 1000) : null;
}

/** Pending details in words: Slurm's reason, place in the queue, estimated start. */
export function pendingText(session: Session, trans: Words): string {
  const p = session.pending;
  if (!p) return trans.__('waiting in the queue');
  const parts = [p.reason && p.reason !== 'None' ? p.reason : trans.__('waiting')];
  if (p.position) parts.push(trans.__('#%1 in the queue', p.position));
  if (p.estimatedStart) parts.push(trans.__('starts ~%1', new Date(p.estimatedStart).toLocaleTimeString()));
  return parts.join(', ');
}

/** GPUs free per type of a partition: `fake 2/2`. */
export function gpuFree(p: Partition): { type: string; free: number; total: number }[] {
  return p.gpus.map(g => ({ type: g.type || 'gpu', free: g.total - g.used, total: g.total }));
}

/** Jobs grouped for the table: array tasks under their array, the rest alone. */
export function groupJobs(jobs: Job[]): { key: string; jobs: Job[] }[] {
  const groups = new Map<string, Job[]>();
  for (const job of jobs) {
    const key = job.arrayJobId ?? job.id;
    const list = groups.get(key);
    if (list) list.push(job);
    else groups.set(key, [job]);
  }
  return [...groups].map(([key, list]) => ({ key, jobs: list }));
}

/** A DOM element in one call: `el('button', {class: 'x', onclick}, 'Stop')`. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<Record<string, unknown>> = {},
  ...children: (Node | string | null | undefined | false)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function')
      node.addEventListener(key.slice(2), value as EventListener);
    else if (key === 'class') node.className = String(value);
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key in node && typeof value !== 'string') (node as unknown as Record<string, unknown>)[key] = value;
    else node.setAttribute(key, String(value));
  }
  for (const child of children) if (child !== null && child !== undefined && child !== false) node.append(child);
  return node;
}
