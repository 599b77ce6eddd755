import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LocalTree } from '../../../server/sync/local-tree';
import { syncTrees } from '../../../server/sync/sync-trees';

/*
 * The sync engine between two folders on this machine, through the same file-tree interface the
 * SFTP side implements: a first copy, a second run that copies nothing, three changed files
 * copied alone, --delete confined to the destination (a link there is removed, never followed),
 * and a dry run that changes nothing.
 */

let work: string;
let src: string;
let dst: string;

async function write(root: string, rel: string, data: string, mtimeSec = 1_700_000_000): Promise<void> {
  const file = path.join(root, rel);
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, data);
  await fs.utimes(file, mtimeSec, mtimeSec);
}

/** Every entry below `root`: files with their content, links with their target, folders. */
async function snapshot(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (rel: string) => {
    for (const e of await fs.readdir(path.join(root, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      const full = path.join(root, r);
      if (e.isSymbolicLink()) out[r] = `-> ${await fs.readlink(full)}`;
      else if (e.isDirectory()) {
        out[r] = 'dir';
        await walk(r);
      } else out[r] = await fs.readFile(full, 'utf8');
    }
  };
  await walk('');
  return out;
}

const sync = (options: { delete?: boolean; dryRun?: boolean } = {}) =>
  syncTrees(new LocalTree(src), new LocalTree(dst), { delete: false, dryRun: false, ...options });

beforeEach(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'hpclab-sync-'));
  src = path.join(work, 'src');
  dst = path.join(work, 'dst');
  await write(src, 'a.txt', 'alpha');
  await write(src, 'deep/er/b.txt', 'beta');
  await write(src, 'empty.txt', '');
  for (let i = 0; i < 50; i++) await write(src, `many/f${i}.txt`, `file ${i}`);
  await fs.symlink('../a.txt', path.join(src, 'deep', 'in-link'));
  await fs.symlink(os.tmpdir(), path.join(src, 'out-link'));
  await fs.writeFile(path.join(src, 'run.sh'), '#!/bin/sh\n', { mode: 0o755 });
});
afterEach(async () => {
  await fs.rm(work, { recursive: true, force: true });
});

describe('syncTrees between local folders', () => {
  it('copies the tree with times and modes, keeps inner links, skips outer ones, then copies nothing', async () => {
    const first = await sync();
    expect(first).toMatchObject({ copied: 54, unchanged: 0, linksMade: 1, failed: [] });
    expect(first.skipped).toEqual([{ rel: 'out-link', reason: expect.stringMatching(/points outside/) }]);
    const { 'out-link': _skipped, ...expected } = await snapshot(src);
    expect(await snapshot(dst)).toEqual(expected);
    expect(Math.floor((await fs.stat(path.join(dst, 'deep/er/b.txt'))).mtimeMs / 1000)).toBe(1_700_000_000);
    expect((await fs.stat(path.join(dst, 'run.sh'))).mode & 0o777).toBe(0o755);

    const again = await sync();
    expect(again).toMatchObject({ copied: 0, unchanged: 55, linksMade: 0, dirsMade: 0, bytes: 0 });
  });

  it('copies exactly the files whose size or time changed', async () => {
    await sync();
    await write(src, 'a.txt', 'ALPHA', 1_700_000_000); // same size, same time: not seen, like rsync
    await write(src, 'many/f1.txt', 'FILE 1', 1_700_000_500);
    await write(src, 'many/f2.txt', 'file 2 grew', 1_700_000_000);
    await write(src, 'deep/er/b.txt', 'BETA', 1_700_000_009);
    const r = await sync();
    expect(r).toMatchObject({ copied: 3, unchanged: 52, bytes: 'FILE 1'.length + 'file 2 grew'.length + 4 });
    expect(await fs.readFile(path.join(dst, 'many/f2.txt'), 'utf8')).toBe('file 2 grew');
    expect(await fs.readFile(path.join(dst, 'a.txt'), 'utf8')).toBe('alpha');
  });

  it('--delete removes only inside the destination, and removes a link without following it', async () => {
    await sync();
    const outside = path.join(work, 'outside');
    await write(outside, 'precious.txt', 'keep me');
    await write(work, 'sibling.txt', 'keep me too');
    await write(dst, 'stale/old.txt', 'old');
    await fs.symlink(outside, path.join(dst, 'stale-link'));
    await fs.symlink(outside, path.join(dst, 'many', 'f3.txt.link'));

    const dry = await sync({ delete: true, dryRun: true });
    expect(dry).toMatchObject({ deleted: 4, copied: 0, dryRun: true });
    expect(await fs.readFile(path.join(dst, 'stale/old.txt'), 'utf8')).toBe('old');

    const r = await sync({ delete: true });
    expect(r).toMatchObject({ deleted: 4, copied: 0, failed: [] });
    const { 'out-link': _skipped, ...expected } = await snapshot(src);
    expect(await snapshot(dst)).toEqual(expected);
    expect(await snapshot(outside)).toEqual({ 'precious.txt': 'keep me' });
    expect(await fs.readFile(path.join(work, 'sibling.txt'), 'utf8')).toBe('keep me too');
  });

  it('without --delete leaves extra files and a link standing where a folder should be, saying so', async () => {
    const outside = path.join(work, 'outside');
    await write(outside, 'x.txt', 'outside');
    await fs.mkdir(dst);
    await write(dst, 'extra.txt', 'mine');
    await fs.symlink(outside, path.join(dst, 'deep'));
    const r = await sync();
    expect(r.skipped.map(s => s.rel).sort()).toEqual(['deep', 'out-link']);
    expect(r.skipped.find(s => s.rel === 'deep')?.reason).toMatch(/a dir here but a symlink on .*--delete/);
    // Nothing was written through the link.
    expect(await snapshot(outside)).toEqual({ 'x.txt': 'outside' });
    expect(await fs.readFile(path.join(dst, 'extra.txt'), 'utf8')).toBe('mine');
  });

  it('a dry run into a missing folder makes nothing', async () => {
    const r = await sync({ dryRun: true });
    expect(r).toMatchObject({ copied: 54, dirsMade: 3, linksMade: 1, dryRun: true });
    await expect(fs.stat(dst)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses a missing source and names it', async () => {
    await expect(
      syncTrees(new LocalTree(path.join(work, 'nope')), new LocalTree(dst), { delete: false, dryRun: false })
    ).rejects.toThrow(/nope does not exist or is not a folder/);
    await expect(fs.stat(dst)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
