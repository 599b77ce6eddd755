import { SchedulerError } from '../errors';

/*
 * Slurm durations and timestamps. One grammar serves what Slurm prints (squeue TimeUsed,
 * sinfo Time) and what users type (--time): Slurm reads a lone number as minutes and two
 * numbers as minutes:seconds, and prints short durations as M:SS, so both agree.
 */

/** Words Slurm prints where a duration has no value (sinfo prints `infinite` in lower case). */
const NO_DURATION = new Set(['UNLIMITED', 'INFINITE', 'INVALID', 'NOT_SET', 'N/A', 'NONE', '']);

const DURATION = /^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$/;

/** Seconds in a Slurm duration, or null for UNLIMITED, INVALID, NOT_SET, N/A. */
export function parseDuration(text: string): number | null {
  const trimmed = text.trim();
  if (NO_DURATION.has(trimmed.toUpperCase())) return null;
  const seconds = durationSeconds(trimmed);
  if (seconds === undefined) throw new SchedulerError('parse', `unrecognized Slurm duration "${text}"`);
  return seconds;
}

/** Seconds, or undefined when the text is not in Slurm's duration grammar. */
export function durationSeconds(text: string): number | undefined {
  const m = DURATION.exec(text);
  if (!m) return undefined;
  const [, d, a, b, c] = m;
  const n = (s: string | undefined) => (s === undefined ? 0 : Number(s));
  if (d !== undefined) {
    // D-HH, D-HH:MM, D-HH:MM:SS
    return n(d) * 86400 + n(a) * 3600 + n(b) * 60 + n(c);
  }
  if (c !== undefined) return n(a) * 3600 + n(b) * 60 + n(c); // HH:MM:SS
  if (b !== undefined) return n(a) * 60 + n(b); // MM:SS
  return n(a) * 60; // MM
}

/** `D-HH:MM:SS` from a day on, else `HH:MM:SS`: both are valid `--time` values. */
export function formatDuration(seconds: number): string {
  const total = Math.max(0, Math.floor(seconds));
  const two = (v: number) => String(v).padStart(2, '0');
  const days = Math.floor(total / 86400);
  const hms = `${two(Math.floor((total % 86400) / 3600))}:${two(Math.floor((total % 3600) / 60))}:${two(total % 60)}`;
  return days > 0 ? `${days}-${hms}` : hms;
}

const NO_TIME = new Set(['N/A', 'UNKNOWN', 'NONE', '(NULL)', '']);
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$/;

/**
 * A Slurm timestamp (`2026-11-22T01:02:03`, SLURM_TIME_FORMAT=standard) as a Date, or null
 * for N/A, Unknown, None. Slurm prints the cluster's local time without a zone; it is read
 * as this process's local time, which is right when both run in the same zone (set TZ when not).
 */
export function parseTimestamp(text: string): Date | null {
  const trimmed = text.trim();
  if (NO_TIME.has(trimmed.toUpperCase())) return null;
  const m = TIMESTAMP.exec(trimmed);
  if (m) {
    const [year, month, day, hour, minute, second] = m.slice(1).map(Number);
    const date = new Date(year, month - 1, day, hour, minute, second);
    // Date rolls 2026-02-31 over to March; Slurm never prints that, so it is not a timestamp.
    if (date.getMonth() === month - 1 && date.getDate() === day && hour < 24 && minute < 60 && second < 60) return date;
  }
  throw new SchedulerError('parse', `unrecognized Slurm timestamp "${text}"`);
}
