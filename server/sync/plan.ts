import { linkStaysInside, type EntryType, type Listing } from './tree';

/** What a sync will do to the destination, worked out from both listings before anything changes. */
export interface SyncPlan {
  /** Entries to remove, deepest first (a directory after everything in it). */
  removes: { rel: string; type: EntryType }[];
  /** Directories to make, parents first. */
  mkdirs: { rel: string; mode: number }[];
  copies: { rel: string; size: number; mtimeSec: number; mode: number }[];
  links: { rel: string; target: string }[];
  /** Files (and links) already the same on both sides. */
  unchanged: number;
  /** Source entries left out, with why (the user is told each). */
  skipped: { rel: string; reason: string }[];
}

export const depth = (rel: string) => rel.split('/').length;

/** The ancestors of `rel`, nearest first ('a/b/c' → 'a/b', 'a'). */
function ancestors(rel: string): string[] {
  const out: string[] = [];
  for (let i = rel.lastIndexOf('/'); i > 0; i = rel.lastIndexOf('/', i - 1)) out.push(rel.slice(0, i));
  return out;
}

/**
 * Compares the two sides. A file is copied when its size or its modification time (whole
 * seconds) differ: the copy gets the source's time, so the next run skips it. Symlinks are
 * recreated as links when they point inside the tree and skipped otherwise; nothing is followed.
 * Where the two sides hold different kinds of thing at one path (a file here, a directory there),
 * the destination's is replaced only with `delete`, else it is left alone and said so, with all
 * below it. `delete` also removes what the source lacks, but never below a path the source skipped.
 */
export function planSync(source: Listing, dest: Listing, options: { delete: boolean; destLabel: string }): SyncPlan {
  const plan: SyncPlan = { removes: [], mkdirs: [], copies: [], links: [], unchanged: 0, skipped: [] };
  /** Source paths whose subtree is not synced (skipped links and special files, conflicts). */
  const held = new Set<string>();
  /** Destination paths removed to make room for the source's different kind of entry. */
  const replaced = new Set<string>();
  const underHeld = (rel: string) => ancestors(rel).some(a => held.has(a));

  // A parent is a prefix of its children, so sorting puts it first.
  for (const rel of [...source.keys()].sort()) {
    if (underHeld(rel)) continue;
    const s = source.get(rel)!;
    const d = dest.get(rel);
    if (s.type === 'other') {
      plan.skipped.push({ rel, reason: 'not a regular file, directory or symlink' });
      held.add(rel);
      continue;
    }
    if (s.type === 'symlink' && !linkStaysInside(rel, s.target ?? '')) {
      plan.skipped.push({ rel, reason: `a symlink to ${s.target} points outside the synced folder` });
      held.add(rel);
      continue;
    }
    if (d && d.type !== s.type && !(d.type === 'symlink' && s.type === 'symlink')) {
      if (!options.delete) {
        plan.skipped.push({
          rel,
          reason: `a ${s.type} here but a ${d.type} on ${options.destLabel}: left alone (--delete replaces it)`
        });
        held.add(rel);
        continue;
      }
      replaced.add(rel);
    }
    const fresh = !d || replaced.has(rel);
    if (s.type === 'dir') {
      if (fresh) plan.mkdirs.push({ rel, mode: s.mode });
    } else if (s.type === 'file') {
      if (fresh || d.size !== s.size || d.mtimeSec !== s.mtimeSec)
        plan.copies.push({ rel, size: s.size, mtimeSec: s.mtimeSec, mode: s.mode });
      else plan.unchanged++;
    } else if (fresh || d.target !== s.target) {
      // A link with another target is replaced like a changed file: only the link goes, not what it points to.
      if (!fresh) replaced.add(rel);
      plan.links.push({ rel, target: s.target ?? '' });
    } else plan.unchanged++;
  }

  for (const [rel, d] of dest) {
    const gone = replaced.has(rel) || ancestors(rel).some(a => replaced.has(a));
    const absent = !source.has(rel) && options.delete && !underHeld(rel);
    if (gone || absent) plan.removes.push({ rel, type: d.type });
  }
  plan.removes.sort((a, b) => depth(b.rel) - depth(a.rel));
  plan.mkdirs.sort((a, b) => depth(a.rel) - depth(b.rel));
  return plan;
}
