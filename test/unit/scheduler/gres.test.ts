import { SchedulerError } from '../../../server/scheduler/errors';
import { parseGpuGres, splitTopLevel, totalGpus } from '../../../server/scheduler/slurm/gres';

const counts = (text: string) => Object.fromEntries(parseGpuGres(text));

describe('parseGpuGres', () => {
  it.each([
    ['gpu:2', { '': 2 }],
    ['gpu:a100:4', { a100: 4 }],
    ['gpu:a100:4(S:0-1)', { a100: 4 }],
    ['gpu:a100:4(S:0,2)', { a100: 4 }],
    ['gpu:fake:1(IDX:0)', { fake: 1 }],
    ['gpu:fake:0(IDX:N/A)', { fake: 0 }],
    ['gpu:1(IDX:0)', { '': 1 }],
    ['gpu:(null):0(IDX:N/A)', { '': 0 }],
    ['gpu:a100:2(S:0),gpu:v100:1(S:1),mps:400', { a100: 2, v100: 1 }],
    ['gpu:a100:2(IDX:0-1),gpu:a100:1(IDX:3)', { a100: 3 }],
    ['mps:400,shard:8', {}],
    ['gpu', { '': 1 }],
    ['gpu:a100', { a100: 1 }],
    ['gres:gpu:1', { '': 1 }],
    ['gres/gpu:a100:2', { a100: 2 }],
    ['gpu:no_consume:2', { '': 2 }],
    ['gpu:4K', { '': 4096 }],
    ['(null)', {}],
    ['', {}],
    ['N/A', {}]
  ])('%s', (text, expected) => {
    expect(counts(text)).toEqual(expected);
  });

  it('reads TRES lists: typed entries are parts of the gres/gpu total', () => {
    expect(counts('gres/gpu:fake=1,gres/gpu=1')).toEqual({ fake: 1 });
    expect(counts('cpu=8,mem=16G,node=1,billing=8,gres/gpu=2,gres/gpu:a100=2')).toEqual({ a100: 2 });
    expect(counts('cpu=1,mem=1G,gres/gpu=3,gres/gpu:a100=1,gres/mps=100')).toEqual({ a100: 1, '': 2 });
    expect(counts('cpu=1,gres/gpu=2')).toEqual({ '': 2 });
    expect(counts('cpu=1,mem=1G,node=1')).toEqual({});
  });

  it('says which item it could not read', () => {
    expect(() => parseGpuGres('gpu:a100:x')).toThrow(SchedulerError);
    expect(() => parseGpuGres('gpu:a100:x,mps:1')).toThrow('unrecognized gres "gpu:a100:x" in "gpu:a100:x,mps:1"');
    expect(() => parseGpuGres('gpu:a:b:c')).toThrow(/unrecognized gres/);
  });

  it('splits at top-level commas only and totals every type', () => {
    expect(splitTopLevel('gpu:a:1(S:0,1),mps:2')).toEqual(['gpu:a:1(S:0,1)', 'mps:2']);
    expect(totalGpus('gpu:a100:2(S:0),gpu:v100:1(S:1),mps:400')).toBe(3);
    expect(totalGpus('(null)')).toBe(0);
  });
});
