import * as os from 'node:os';
import * as path from 'node:path';
import { describePathMap, mapToCluster, type MappedPath, type PathMapping } from '../config/path-map';
import { LocalTransport } from '../transport/local';
import type { Transport } from '../transport/types';
import { LocalTree } from './local-tree';
import { SftpTree } from './sftp-tree';
import { SyncInputError } from './sync-trees';
import type { FileTree } from './tree';

/** `~/x` the way a user reads it, for messages and suggested config. */
export function tildePath(p: string, home: string): string {
  const rel = path.relative(home, p);
  if (rel === '') return '~';
  return rel.startsWith('..') || path.isAbsolute(rel) ? p : `~/${rel.split(path.sep).join('/')}`;
}

/**
 * Where DIR is on the cluster, by the cluster's `pathMap`. A DIR under no mapped folder is an
 * input error that names DIR, what is mapped, and the `pathMap` entry that would map it.
 */
export function mapSyncDir(
  pathMap: readonly PathMapping[] | undefined,
  dir: string,
  home: string,
  cluster: string
): MappedPath {
  const mapped = mapToCluster(pathMap, dir, home);
  if (mapped) return mapped;
  const local = tildePath(path.resolve(dir), home);
  const remote = local.startsWith('~/') ? local : `~/${path.basename(path.resolve(dir)) || 'sync'}`;
  throw new SyncInputError(
    `DIR ${local} is not under a folder mapped to cluster ${cluster} (${describePathMap(pathMap)}); ` +
      `add a mapping to clusters.${cluster}.pathMap in the config, e.g. ` +
      `${JSON.stringify({ local, remote })}, or run hpclab sync from inside a mapped folder`
  );
}

/** `~` and `~/x` on the cluster, against the cluster user's home; other paths as they are. */
export function resolveRemoteHome(remote: string, home: string): string {
  if (remote === '~') return home;
  return remote.startsWith('~/') ? `${home.replace(/\/+$/, '')}/${remote.slice(2)}` : remote;
}

/**
 * The cluster's side of a sync: SFTP on the cluster's SSH connection, or the local disk when the
 * companion runs on the login node (a local cluster). `~/` resolves against the remote home as
 * the SFTP server reports it (realpath of "."), which is where a login shell's `~` is.
 */
export async function openClusterTree(transport: Transport, remote: string): Promise<FileTree> {
  if (transport.sftp) {
    const sftp = await transport.sftp();
    const home = await new Promise<string>((resolve, reject) =>
      sftp.realpath('.', (err, where) => (err ? reject(err) : resolve(where)))
    );
    return new SftpTree(sftp, resolveRemoteHome(remote, home), transport.cluster);
  }
  if (transport instanceof LocalTransport) {
    const root = resolveRemoteHome(remote, os.homedir());
    return new LocalTree(root, `${transport.cluster}:${root}`);
  }
  throw new SyncInputError(`cluster ${transport.cluster}: its connection cannot copy files (no SFTP)`);
}
