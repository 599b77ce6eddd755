import type { ClusterNode } from '../../src/contract';
import { nodeChoices } from '../../src/sidebar/node-picker';
import { english } from '../../src/translate';

const node = (name: string, state: string, over: Partial<ClusterNode> = {}): ClusterNode => ({
  name,
  state,
  partitions: ['debug'],
  cpus: { total: 8, allocated: state === 'idle' ? 0 : 8 },
  memMB: 16000,
  gpus: [],
  features: [],
  ...over
});

const nodes = [
  node('c10', 'idle'),
  node('c3', 'down'),
  node('c2', 'mixed', { cpus: { total: 8, allocated: 5 }, gpus: [{ type: 'fake', total: 2, used: 1 }] }),
  node('c1', 'idle', { gpus: [{ type: 'fake', total: 2, used: 0 }] }),
  node('c4', 'allocated'),
  node('c5', 'mixed'),
  node('c6', 'drained', { cpus: { total: 8, allocated: 0 } })
];

test('idle nodes first in natural order, then mixed ones with CPUs free, each with what is free', () => {
  const choices = nodeChoices(nodes, false, english);
  expect(choices.map(c => [c.name, c.selectable])).toEqual([
    ['c1', true],
    ['c10', true],
    ['c2', true],
    ['c3', false],
    ['c4', false],
    ['c5', false],
    ['c6', false]
  ]);
  expect(choices[0].label).toBe('c1 · idle · 8 CPUs free · fake 2/2 GPUs free');
  expect(choices[2].label).toBe('c2 · mixed · 3 CPUs free · fake 1/2 GPUs free');
});

test('the others are offered disabled with their state; a full mixed node is one of them', () => {
  const labels = nodeChoices(nodes, false, english)
    .filter(c => !c.selectable)
    .map(c => c.label);
  expect(labels).toEqual(['c3 · down', 'c4 · allocated', 'c5 · mixed', 'c6 · drained']);
});

test('an exclusive request needs a whole node: only idle ones can be picked', () => {
  const choices = nodeChoices(nodes, true, english);
  expect(choices.filter(c => c.selectable).map(c => c.name)).toEqual(['c1', 'c10']);
  expect(choices.find(c => c.name === 'c2')?.label).toBe('c2 · mixed');
});

test('one CPU free says so in the singular; an untyped GPU is called gpu', () => {
  const [c] = nodeChoices(
    [node('n1', 'mixed', { cpus: { total: 4, allocated: 3 }, gpus: [{ type: '', total: 1, used: 0 }] })],
    false,
    english
  );
  expect(c.label).toBe('n1 · mixed · 1 CPU free · gpu 1/1 GPUs free');
});
