import { SchedulerError } from '../errors';

/*
 * GPU counts from the ways Slurm prints generic resources:
 *   node gres (sinfo Gres, scontrol Gres=)   gpu:a100:4(S:0-1),gpu:v100:1(S:1),mps:400
 *   node gres in use (sinfo GresUsed)        gpu:a100:2(IDX:0-1),gpu:(null):0(IDX:N/A)
 *   job request (squeue tres-per-node)       gres:gpu:1 (22.05), gres/gpu:a100:2 (later)
 *   TRES (AllocTRES, CfgTRES, TRES=)         cpu=4,mem=8G,gres/gpu:a100=2,gres/gpu=2
 * The parenthesised part is socket affinity (S:…) or device indexes (IDX:…), never a count,
 * and may itself hold commas (`(S:0,2)`), so lists are split at top-level commas only.
 */

/** Count per GPU type; '' is the type when Slurm names none (`gpu:2`). */
export type GpuCounts = Map<string, number>;

const NONE = new Set(['', '(null)', 'N/A', 'none']);

/** Slurm prints large counts with a binary suffix (`mps:1K`), see gres.c `_get_suffix`. */
const MULTIPLIER: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4, P: 1024 ** 5 };
const COUNT = /^(\d+)([KMGTP]?)$/;

function count(text: string): number | undefined {
  const m = COUNT.exec(text);
  return m ? Number(m[1]) * MULTIPLIER[m[2]] : undefined;
}

function badGres(whole: string, item: string): SchedulerError {
  return new SchedulerError('parse', `unrecognized gres "${item}" in "${whole}"`);
}

/** Splits at commas outside parentheses. */
export function splitTopLevel(text: string): string[] {
  const items: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '(') depth++;
    else if (ch === ')') depth = Math.max(0, depth - 1);
    else if (ch === ',' && depth === 0) {
      items.push(text.slice(start, i));
      start = i + 1;
    }
  }
  items.push(text.slice(start));
  return items.map(s => s.trim()).filter(s => s !== '');
}

function add(counts: GpuCounts, type: string, n: number): void {
  counts.set(type, (counts.get(type) ?? 0) + n);
}

/** `gpu:a100:4(S:0-1)` → name gpu, type a100, count 4. */
function parseGresItem(whole: string, raw: string): { name: string; type: string; count: number } {
  const item = raw.replace(/^gres[:/]/, '').replace(/\([^()]*\)$/, '');
  // `no_consume` may sit between name and count; it says nothing about how many.
  const parts = item.split(':').filter(p => p !== 'no_consume');
  const [name, ...rest] = parts;
  if (!name || !/^[A-Za-z][\w-]*$/.test(name) || rest.length > 2) throw badGres(whole, raw);
  const typeOf = (t: string) => (t === '(null)' ? '' : t);
  if (rest.length === 0) return { name, type: '', count: 1 };
  if (rest.length === 1) {
    const n = count(rest[0]);
    return n === undefined ? { name, type: typeOf(rest[0]), count: 1 } : { name, type: '', count: n };
  }
  const n = count(rest[1]);
  if (n === undefined) throw badGres(whole, raw);
  return { name, type: typeOf(rest[0]), count: n };
}

/**
 * TRES lists give a total (`gres/gpu=3`) and, for typed GPUs, per-type entries that are part
 * of it (`gres/gpu:a100=2`). GPUs the total has beyond the typed ones are untyped ('').
 */
function parseTres(whole: string, items: string[]): GpuCounts {
  const typed: GpuCounts = new Map();
  let total: number | undefined;
  for (const item of items) {
    const m = /^gres\/([^=]+)=(.*)$/.exec(item);
    if (!m) continue; // cpu=4, mem=8G, billing=1, node=1 …
    const [name, type, extra] = m[1].split(':');
    const n = count(m[2]);
    if (n === undefined || extra !== undefined) throw badGres(whole, item);
    if (name !== 'gpu') continue;
    if (type === undefined) total = (total ?? 0) + n;
    else add(typed, type, n);
  }
  const typedSum = [...typed.values()].reduce((a, b) => a + b, 0);
  if (total !== undefined && total > typedSum) typed.set('', total - typedSum);
  return typed;
}

/** GPUs per type in any of Slurm's gres or TRES strings; other gres (mps, shard…) are left out. */
export function parseGpuGres(text: string): GpuCounts {
  const whole = text.trim();
  if (NONE.has(whole)) return new Map();
  const items = splitTopLevel(whole);
  if (items.some(item => item.includes('='))) return parseTres(whole, items);
  const counts: GpuCounts = new Map();
  for (const raw of items) {
    if (NONE.has(raw)) continue;
    const { name, type, count: n } = parseGresItem(whole, raw);
    if (name === 'gpu') add(counts, type, n);
  }
  return counts;
}

/** All GPUs in a gres or TRES string, whatever their type. */
export function totalGpus(text: string): number {
  let sum = 0;
  for (const n of parseGpuGres(text).values()) sum += n;
  return sum;
}
