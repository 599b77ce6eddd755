import * as path from 'node:path';

/** One mapping of a cluster's `pathMap`: a folder here and where it is on the cluster. */
export interface PathMapping {
  local: string;
  remote: string;
}

/** Where a local path is on the cluster, under which mapping. */
export interface MappedPath {
  mapping: PathMapping;
  /** The local root, with `~` expanded and normalized. */
  localRoot: string;
  /** The path below the root, '/'-separated ('' for the root itself). */
  relative: string;
  /** The same place on the cluster: the remote root joined with `relative` ("~/" stays for the remote shell). */
  remote: string;
}

/** `~/x` → `<home>/x`; other paths normalized. Windows-style paths are handled where they are native. */
export function expandLocal(p: string, home: string): string {
  const expanded = p === '~' ? home : p.startsWith('~/') ? path.join(home, p.slice(2)) : p;
  return path.resolve(expanded);
}

/**
 * Which mapping holds `localPath` (the longest local root wins, so a nested mapping beats its
 * parent), and where that is on the cluster. Undefined when none does: the caller keeps the
 * cluster's $HOME and says why. Paths that climb out with ".." cannot escape a root: both sides
 * are resolved before they are compared.
 */
export function mapToCluster(
  pathMap: readonly PathMapping[] | undefined,
  localPath: string,
  home: string
): MappedPath | undefined {
  const target = path.resolve(localPath);
  let best: MappedPath | undefined;
  for (const mapping of pathMap ?? []) {
    const localRoot = expandLocal(mapping.local, home);
    const rel = path.relative(localRoot, target);
    if (rel.startsWith('..') || path.isAbsolute(rel)) continue;
    if (best && best.localRoot.length >= localRoot.length) continue;
    const relative = rel.split(path.sep).filter(Boolean).join('/');
    const remote = relative ? `${mapping.remote.replace(/\/+$/, '')}/${relative}` : mapping.remote;
    best = { mapping, localRoot, relative, remote };
  }
  return best;
}

/** For messages: the mapped local roots, or that there are none. */
export function describePathMap(pathMap: readonly PathMapping[] | undefined): string {
  if (!pathMap || pathMap.length === 0) return 'no pathMap is set for this cluster';
  return `mapped folders: ${pathMap.map(m => `${m.local} → ${m.remote}`).join(', ')}`;
}

/**
 * Where a notebook's kernel starts: its folder as the cluster's `pathMap` maps it (`path`), else
 * the cluster home (no `path`); `message` says which, or why the folder could not be mapped.
 */
export function kernelDirectory(
  pathMap: readonly PathMapping[] | undefined,
  notebookDir: string | undefined,
  home: string
): { path?: string; message?: string } {
  if (!notebookDir) return {};
  const mapped = mapToCluster(pathMap, notebookDir, home);
  if (mapped) return { path: mapped.remote, message: `the kernel starts in ${mapped.remote}` };
  if (!pathMap?.length) return {};
  return {
    message: `the notebook's folder ${notebookDir} is outside the mapped folders (${describePathMap(pathMap)}): the kernel starts in the cluster home; add a pathMap entry for it to start beside the notebook`
  };
}
