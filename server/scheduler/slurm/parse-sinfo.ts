import { SchedulerError } from '../errors';
import type { GpuSummary, NodeCounts, NodeSummary, PartitionSummary } from '../types';
import { SINFO_DELIMITER, SINFO_FIELDS } from './argv';
import { parseGpuGres } from './gres';
import { parseDuration } from './time';

/*
 * Reads `partitionsArgv()` output: one line per node and partition. A node in two partitions
 * counts in both, as Slurm itself shows it.
 */

type NodeCategory = Exclude<keyof NodeCounts, 'total'>;

/**
 * Node state flags Slurm appends to the state word (slurm_protocol_defs.c node_state_string):
 * `*` not responding, `~` powered down, `%` powering down, `#` powering up, `!` power down
 * pending, `$` maintenance reservation, `@` reboot requested, `^` reboot issued, `-` planned,
 * `+` completing.
 */
const STATE_FLAGS = /[*~#!%$@^+-]+$/;

const BASE_CATEGORY: Record<string, NodeCategory> = {
  idle: 'idle',
  mixed: 'mixed',
  allocated: 'allocated',
  down: 'down',
  drained: 'down',
  draining: 'down', // still running jobs, but takes no new ones
  fail: 'down',
  failing: 'down',
  inval: 'down',
  power_down: 'down',
  powered_down: 'down',
  powering_down: 'down',
  // Compact forms (sinfo %t), in case a recorded or older format uses them.
  mix: 'mixed',
  alloc: 'allocated',
  drain: 'down',
  drng: 'down',
  failg: 'down',
  pow_dn: 'down'
};

/** Which NodeCounts bucket a sinfo state (`idle`, `mixed-`, `down*`, `drained~`) falls in. */
export function nodeCategory(state: string): NodeCategory {
  const lower = state.trim().toLowerCase();
  const flags = STATE_FLAGS.exec(lower)?.[0] ?? '';
  const base = lower.slice(0, lower.length - flags.length);
  const category = BASE_CATEGORY[base] ?? 'other';
  if (category === 'down') return 'down';
  // Not responding or powered (down) off: nothing runs there until someone acts.
  if (/[*~%]/.test(flags)) return 'down';
  // Booting, rebooting or under a maintenance reservation: neither usable nor broken.
  if (/[#^$]/.test(flags)) return 'other';
  return category;
}

interface Accumulator {
  summary: PartitionSummary;
  gpus: Map<string, GpuSummary>;
}

function newPartition(name: string, isDefault: boolean, available: string, timeLimit: number | null): Accumulator {
  return {
    summary: {
      name,
      isDefault,
      available,
      timeLimit,
      nodes: { idle: 0, mixed: 0, allocated: 0, down: 0, other: 0, total: 0 },
      cpus: { total: 0, allocated: 0, idle: 0 },
      gpus: []
    },
    gpus: new Map()
  };
}

function gpuEntry(acc: Accumulator, type: string): GpuSummary {
  let entry = acc.gpus.get(type);
  if (!entry) acc.gpus.set(type, (entry = { type, total: 0, used: 0 }));
  return entry;
}

function parseCpus(text: string): { allocated: number; idle: number; total: number } {
  const m = /^(\d+)\/(\d+)\/(\d+)\/(\d+)$/.exec(text);
  if (!m) throw new SchedulerError('parse', `expected CPUs as allocated/idle/other/total, got "${text}"`);
  return { allocated: Number(m[1]), idle: Number(m[2]), total: Number(m[4]) };
}

function lineError(line: string, index: number, reason: string, cause?: unknown): SchedulerError {
  return new SchedulerError('parse', `sinfo line ${index + 1}: ${reason}`, line, { cause });
}

/**
 * Partitions in the order sinfo first names them, with node counts by state, CPUs and GPUs
 * per type. GPUs on nodes counted as down (drained, not responding, powered off) are left out
 * of `total` and `used`, just as sinfo's CPU "idle" leaves out CPUs of drained nodes: total
 * minus used is then what a job could get. The type still appears, with total 0 if need be.
 */
export function parsePartitions(stdout: string): PartitionSummary[] {
  const partitions = new Map<string, Accumulator>();
  stdout.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    const fields = line.split(SINFO_DELIMITER);
    if (fields.length !== SINFO_FIELDS.length) {
      throw lineError(
        line,
        index,
        `expected ${SINFO_FIELDS.length} fields separated by "${SINFO_DELIMITER}", got ${fields.length}`
      );
    }
    const [node, partitionField, state, cpus, gres, gresUsed, available, time] = fields.map(f => f.trim());
    // A node outside every partition prints n/a; it is nobody's to use.
    if (partitionField === 'n/a' || partitionField === '') return;
    const isDefault = partitionField.endsWith('*');
    const name = isDefault ? partitionField.slice(0, -1) : partitionField;
    try {
      let acc = partitions.get(name);
      if (!acc) partitions.set(name, (acc = newPartition(name, isDefault, available, parseDuration(time))));
      // A partition without nodes prints one line with no node and state n/a.
      if (node === '' || state === 'n/a') return;
      const category = nodeCategory(state);
      const nodes = acc.summary.nodes;
      nodes[category]++;
      nodes.total++;
      const c = parseCpus(cpus);
      acc.summary.cpus.total += c.total;
      acc.summary.cpus.allocated += c.allocated;
      acc.summary.cpus.idle += c.idle;
      const usable = category !== 'down';
      for (const [type, n] of parseGpuGres(gres)) gpuEntry(acc, type).total += usable ? n : 0;
      for (const [type, n] of parseGpuGres(gresUsed)) gpuEntry(acc, type).used += usable ? n : 0;
    } catch (error) {
      if (error instanceof SchedulerError && error.kind === 'parse') throw lineError(line, index, error.message, error);
      throw error;
    }
  });
  return [...partitions.values()].map(acc => ({
    ...acc.summary,
    gpus: [...acc.gpus.values()].sort((a, b) => a.type.localeCompare(b.type))
  }));
}

/**
 * A node's state in words for a picker: the base word (`idle`, `mixed`), except that a node
 * whose flags take it out of use (`idle*` not responding, `idle~` powered off) says so instead
 * of looking free.
 */
function nodeState(state: string): string {
  const base = state.trim().toLowerCase().replace(STATE_FLAGS, '');
  return nodeCategory(state) === 'down' && BASE_CATEGORY[base] !== 'down'
    ? `${base}, not responding or powered off`
    : base;
}

/**
 * The nodes in `partitionsArgv()` output, each once: a node in two partitions prints two lines,
 * which merge into one entry naming both. In the order sinfo names them.
 */
export function parseNodes(stdout: string): NodeSummary[] {
  const nodes = new Map<string, NodeSummary>();
  stdout.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    const fields = line.split(SINFO_DELIMITER).map(f => f.trim());
    if (fields.length !== SINFO_FIELDS.length)
      throw lineError(line, index, `expected ${SINFO_FIELDS.length} fields separated by "${SINFO_DELIMITER}"`);
    const [name, partitionField, state, cpus, gres, gresUsed] = fields;
    if (name === '' || state === 'n/a') return;
    const partition = partitionField.replace(/\*$/, '');
    const known = nodes.get(name);
    if (known) {
      if (partition !== 'n/a' && !known.partitions.includes(partition)) known.partitions.push(partition);
      return;
    }
    try {
      const c = parseCpus(cpus);
      const used = parseGpuGres(gresUsed);
      nodes.set(name, {
        name,
        state: nodeState(state),
        category: nodeCategory(state),
        partitions: partition === 'n/a' || partition === '' ? [] : [partition],
        cpus: { total: c.total, allocated: c.allocated },
        gpus: [...parseGpuGres(gres)]
          .map(([type, total]) => ({ type, total, used: used.get(type) ?? 0 }))
          .sort((a, b) => a.type.localeCompare(b.type))
      });
    } catch (error) {
      if (error instanceof SchedulerError && error.kind === 'parse') throw lineError(line, index, error.message, error);
      throw error;
    }
  });
  return [...nodes.values()];
}
