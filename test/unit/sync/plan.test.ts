import { planSync } from '../../../server/sync/plan';
import { confine, linkStaysInside, type Listing, type TreeEntry } from '../../../server/sync/tree';

/*
 * What a sync decides from two listings: changed files by size and time (whole seconds), new
 * folders parents first, links inside the tree kept and those leaving it skipped, different kinds
 * of entry at one path left alone unless --delete, and --delete removing only what the source
 * lacks, deepest first.
 */

const file = (size: number, mtimeSec = 1_700_000_000, mode = 0o644): TreeEntry => ({
  type: 'file',
  size,
  mtimeSec,
  mode
});
const dir = (): TreeEntry => ({ type: 'dir', size: 0, mtimeSec: 0, mode: 0o755 });
const link = (target: string): TreeEntry => ({ type: 'symlink', size: 0, mtimeSec: 0, mode: 0o777, target });
const listing = (entries: Record<string, TreeEntry>): Listing => new Map(Object.entries(entries));
const plan = (source: Listing, dest: Listing, del = false) =>
  planSync(source, dest, { delete: del, destLabel: 'there' });

describe('planSync', () => {
  it('copies new and changed files and counts the same ones as unchanged', () => {
    const p = plan(
      listing({ a: file(1), b: file(2), c: file(3, 1_700_000_001), d: file(4) }),
      listing({ b: file(2), c: file(3), d: file(5) })
    );
    expect(p.copies.map(c => c.rel).sort()).toEqual(['a', 'c', 'd']);
    expect(p.unchanged).toBe(1);
    expect(p.copies.find(c => c.rel === 'c')).toMatchObject({ mtimeSec: 1_700_000_001, size: 3, mode: 0o644 });
  });

  it('makes missing folders parents first, and nothing for folders that exist', () => {
    const p = plan(
      listing({ x: dir(), 'x/y': dir(), 'x/y/z': dir(), 'x/y/z/f': file(1), w: dir() }),
      listing({ w: dir() })
    );
    expect(p.mkdirs.map(d => d.rel)).toEqual(['x', 'x/y', 'x/y/z']);
    expect(p.copies.map(c => c.rel)).toEqual(['x/y/z/f']);
  });

  it('keeps links inside the tree as links and skips those that leave it, saying why', () => {
    const p = plan(
      listing({
        sub: dir(),
        'sub/in': link('../a'),
        'sub/out': link('../../etc'),
        abs: link('/etc/passwd'),
        a: file(1)
      }),
      new Map()
    );
    expect(p.links).toEqual([{ rel: 'sub/in', target: '../a' }]);
    expect(p.skipped.map(s => s.rel).sort()).toEqual(['abs', 'sub/out']);
    expect(p.skipped[0].reason).toMatch(/points outside the synced folder/);
  });

  it('replaces a link whose target changed, and leaves an equal one', () => {
    const p = plan(
      listing({ l: link('a'), m: link('b'), a: file(1), b: file(1) }),
      listing({ l: link('b'), m: link('b'), a: file(1), b: file(1) })
    );
    expect(p.links).toEqual([{ rel: 'l', target: 'a' }]);
    expect(p.removes).toEqual([{ rel: 'l', type: 'symlink' }]);
    expect(p.unchanged).toBe(3);
  });

  it('leaves a different kind of entry alone without --delete, with all below it', () => {
    const p = plan(
      listing({ x: dir(), 'x/f': file(1), y: file(1) }),
      listing({ x: file(9), y: dir(), 'y/keep': file(1) })
    );
    expect(p.copies).toEqual([]);
    expect(p.removes).toEqual([]);
    expect(p.skipped.map(s => s.rel).sort()).toEqual(['x', 'y']);
    expect(p.skipped.find(s => s.rel === 'x')?.reason).toMatch(/a dir here but a file on there.*--delete/);
  });

  it('with --delete replaces a different kind of entry and removes what the source lacks, deepest first', () => {
    const p = plan(
      listing({ x: dir(), 'x/f': file(1), y: file(1), keep: file(1) }),
      listing({
        x: file(9),
        y: dir(),
        'y/old': dir(),
        'y/old/g': file(1),
        keep: file(1),
        stale: dir(),
        'stale/h': file(1)
      }),
      true
    );
    expect(p.removes.map(r => r.rel)).toEqual(
      expect.arrayContaining(['x', 'y', 'y/old', 'y/old/g', 'stale', 'stale/h'])
    );
    expect(p.removes).toHaveLength(6);
    const depths = p.removes.map(r => r.rel.split('/').length);
    expect(depths).toEqual([...depths].sort((a, b) => b - a));
    expect(p.mkdirs.map(d => d.rel)).toEqual(['x']);
    expect(p.copies.map(c => c.rel).sort()).toEqual(['x/f', 'y']);
    expect(p.unchanged).toBe(1);
  });

  it('with --delete never removes what sits at or below a path the source skipped', () => {
    const p = plan(
      listing({ out: link('/elsewhere'), fifo: { ...file(0), type: 'other' } }),
      listing({ out: dir(), 'out/x': file(1), fifo: file(1) }),
      true
    );
    expect(p.removes).toEqual([]);
    expect(p.skipped.map(s => s.rel).sort()).toEqual(['fifo', 'out']);
  });
});

describe('paths a tree accepts', () => {
  it('refuses anything but a plain relative path', () => {
    for (const bad of ['', '..', '../x', 'a/../../b', '/etc', 'a//b', './a', 'a/.', 'a\0b'])
      expect(() => confine(bad)).toThrow(/not a plain path below the synced folder/);
    expect(confine('a/b c/d')).toEqual(['a', 'b c', 'd']);
  });

  it('judges link targets without following anything', () => {
    expect(linkStaysInside('a/b', '../c')).toBe(true);
    expect(linkStaysInside('a/b', '..')).toBe(true);
    expect(linkStaysInside('b', '.')).toBe(true);
    expect(linkStaysInside('a/b', '../../c')).toBe(false);
    expect(linkStaysInside('b', '/etc')).toBe(false);
    expect(linkStaysInside('b', 'C:\\x')).toBe(false);
    expect(linkStaysInside('b', '')).toBe(false);
  });
});
