import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { SchedulerError } from '../../../server/scheduler/errors';
import { nodeCategory, parseNodes, parsePartitions } from '../../../server/scheduler/slurm/parse-sinfo';

const fixture = (name: string) => readFileSync(path.join(__dirname, '../../fixtures/slurm', name), 'utf8');

describe('parsePartitions', () => {
  const partitions = parsePartitions(fixture('sinfo-nodes.txt'));
  const byName = Object.fromEntries(partitions.map(p => [p.name, p]));

  it('lists partitions in sinfo order, the default one marked', () => {
    expect(partitions.map(p => p.name)).toEqual(['debug', 'batch', 'gpu', 'interactive', 'long', 'old']);
    expect(partitions.filter(p => p.isDefault).map(p => p.name)).toEqual(['debug']);
    expect(byName.debug.timeLimit).toBe(3600);
    expect(byName.batch.timeLimit).toBe(2 * 86400);
    expect(byName.long.timeLimit).toBeNull();
    expect(byName.old.available).toBe('inactive');
  });

  it('counts nodes by state, a node in two partitions in both', () => {
    expect(byName.debug.nodes).toEqual({ idle: 1, mixed: 1, allocated: 0, down: 1, other: 0, total: 3 });
    // c3 down*, c5 drained, c6 draining, c7 idle~, c13 fail → down; reserved, completing, maint, planned → other
    expect(byName.batch.nodes).toEqual({ idle: 0, mixed: 1, allocated: 2, down: 5, other: 4, total: 12 });
    expect(byName.interactive.nodes.mixed).toBe(1);
    expect(byName.gpu.nodes.mixed).toBe(2);
  });

  it('sums CPUs from allocated/idle/other/total', () => {
    expect(byName.debug.cpus).toEqual({ total: 24, allocated: 4, idle: 12 });
  });

  it('sums GPUs per type, leaving out GPUs of down nodes', () => {
    expect(byName.gpu.gpus).toEqual([
      { type: '', total: 2, used: 2 },
      { type: 'a100', total: 9, used: 2 },
      { type: 'v100', total: 2, used: 1 } // gpu04 is drained: its 2 v100 are not offered
    ]);
    expect(byName.interactive.gpus).toEqual([{ type: 'a100', total: 4, used: 2 }]);
    expect(byName.long.gpus).toEqual([{ type: 'fake', total: 1, used: 0 }]);
    expect(byName.debug.gpus).toEqual([]);
  });

  it('classifies node states and their flags', () => {
    expect(nodeCategory('idle')).toBe('idle');
    expect(nodeCategory('mix-')).toBe('mixed');
    expect(nodeCategory('drng')).toBe('down');
    expect(nodeCategory('mixed-')).toBe('mixed');
    expect(nodeCategory('allocated+')).toBe('allocated');
    expect(nodeCategory('idle~')).toBe('down');
    expect(nodeCategory('idle#')).toBe('other');
    expect(nodeCategory('idle$')).toBe('other');
    expect(nodeCategory('mixed*')).toBe('down');
    expect(nodeCategory('drained@')).toBe('down');
    expect(nodeCategory('down')).toBe('down');
    expect(nodeCategory('powered_down')).toBe('down');
    expect(nodeCategory('reboot^')).toBe('other');
    expect(nodeCategory('future')).toBe('other');
  });

  it('reads empty output as no partitions', () => {
    expect(parsePartitions('')).toEqual([]);
    expect(parsePartitions('\n')).toEqual([]);
  });

  it('names the line it cannot read', () => {
    const bad = 'c1|debug*|idle|0/8/0/8|(null)|(null)|up|1:00:00\nc2 debug idle\n';
    expect(() => parsePartitions(bad)).toThrow(SchedulerError);
    expect(() => parsePartitions(bad)).toThrow(/sinfo line 2: expected 8 fields/);
    try {
      parsePartitions('c1|debug*|idle|8|(null)|(null)|up|1:00:00');
    } catch (error) {
      expect(error).toMatchObject({ kind: 'parse', detail: 'c1|debug*|idle|8|(null)|(null)|up|1:00:00' });
      expect((error as Error).message).toMatch(/sinfo line 1: expected CPUs as allocated\/idle\/other\/total, got "8"/);
    }
    expect(() => parsePartitions('c1|debug*|idle|0/8/0/8|gpu:a:b:c|(null)|up|1:00:00')).toThrow(
      /sinfo line 1: unrecognized gres/
    );
  });
});

describe('parseNodes', () => {
  it('lists each node once with all its partitions, its state without flags, CPUs and GPUs', () => {
    const nodes = parseNodes(fixture('sinfo-nodes.txt'));
    const byName = Object.fromEntries(nodes.map(n => [n.name, n]));
    expect(nodes.map(n => n.name)).toEqual([...new Set(nodes.map(n => n.name))]);
    expect(byName.c1).toMatchObject({
      state: 'idle',
      category: 'idle',
      partitions: ['debug'],
      cpus: { total: 8, allocated: 0 }
    });
    expect(byName.c3).toMatchObject({ state: 'down', category: 'down', partitions: ['debug', 'batch'] });
    // Not responding: never offered as free.
    expect(parseNodes('c9|debug*|idle*|0/8/0/8|(null)|(null)|up|1:00:00\n')[0]).toMatchObject({
      state: 'idle, not responding or powered off',
      category: 'down'
    });
    expect(byName.c4).toMatchObject({ state: 'allocated', category: 'allocated', cpus: { total: 8, allocated: 8 } });
  });

  it('reads GPUs with their use, as recorded from the testbed', () => {
    expect(parseNodes(fixture('recorded/sinfo-nodes.txt'))).toEqual([
      {
        name: 'vm',
        state: 'allocated',
        category: 'allocated',
        partitions: ['debug', 'gpu'],
        cpus: { total: 8, allocated: 8 },
        gpus: [{ type: 'fake', total: 2, used: 1 }]
      }
    ]);
  });

  it('names the line it cannot read', () => {
    expect(() => parseNodes('c1|debug|idle\n')).toThrow(/sinfo line 1: expected 8 fields/);
  });
});
