import * as os from 'node:os';
import * as path from 'node:path';
import { getCluster } from '../../config/load';
import { LocalTree } from '../../sync/local-tree';
import { mapSyncDir, openClusterTree, tildePath } from '../../sync/open-trees';
import { SyncInputError, syncTrees, type SyncProgress, type SyncReport } from '../../sync/sync-trees';
import { defineCommand } from '../args';
import { UsageError, openContext, pickCluster } from '../context';
import { didYouMean } from '../suggest';
import { sizeText } from '../format';

/*
 * `hpclab sync push|pull [DIR]`: a folder under one of the cluster's `pathMap` folders, copied to
 * (push) or from (pull) the same place on the cluster over SFTP on the cluster's connection.
 * Only changed files move (size and modification time), so running it again is cheap.
 */

const DIRECTIONS = ['push', 'pull'] as const;

function progressLine(verb: string, p: SyncProgress): string {
  return `${verb}: ${p.filesDone}/${p.filesTotal} files, ${sizeText(p.bytesDone)} of ${sizeText(p.bytesTotal)}…`;
}

function summary(direction: 'push' | 'pull', r: SyncReport): string {
  const arrow = `${r.source} → ${r.dest}`;
  const tail = [
    r.skipped.length ? `${r.skipped.length} skipped` : '',
    r.failed.length ? `${r.failed.length} failed` : ''
  ].filter(Boolean);
  const more = tail.length ? `, ${tail.join(', ')}` : '';
  if (r.dryRun)
    return (
      `Dry run, ${arrow}: would copy ${r.copied} files (${sizeText(r.bytes)}), delete ${r.deleted}, ` +
      `make ${r.dirsMade} folders and ${r.linksMade} links; ${r.unchanged} unchanged${more}. Nothing was changed.`
    );
  const made = [
    r.deleted ? `${r.deleted} deleted` : '',
    r.dirsMade ? `${r.dirsMade} folders made` : '',
    r.linksMade ? `${r.linksMade} links made` : ''
  ].filter(Boolean);
  return (
    `${direction === 'push' ? 'Pushed' : 'Pulled'} ${arrow}: ${r.copied} copied (${sizeText(r.bytes)}), ` +
    `${r.unchanged} unchanged${made.length ? `, ${made.join(', ')}` : ''}${more} in ${r.seconds.toFixed(2)} s`
  );
}

export const syncCommand = defineCommand({
  name: 'sync',
  summary: 'Copy a folder to or from its mapped place on the cluster, changed files only',
  usage: ['hpclab sync push|pull [DIR] [--cluster C] [--dry-run] [--delete] [--json] [--config FILE]'],
  description:
    'push copies DIR (default: the current folder) to the same place on the cluster, pull copies it back. DIR must be inside a folder the cluster\'s "pathMap" maps, e.g. "pathMap": [{"local": "~/projects", "remote": "/scratch/me/projects"}]; a remote "~/" is the cluster home. Files go over SFTP on the cluster\'s SSH connection, many at once; only files whose size or modification time differ are copied, and each copy gets the original\'s time, so a second run copies only what changed since. Symlinks that stay inside the folder are copied as links; those pointing outside are skipped (and listed), never followed.',
  flags: {
    cluster: { type: 'string', value: 'C', description: 'the cluster (default: defaults.cluster, else the only one)' },
    'dry-run': { type: 'boolean', description: 'list what would be copied and deleted; change nothing' },
    delete: {
      type: 'boolean',
      description:
        'also delete files on the receiving side that the sending side lacks (only inside the synced folder), and replace a file by a folder (or back) where the sides differ'
    },
    json: { type: 'boolean', description: 'print the summary as JSON (counts, bytes, seconds, skipped, failed)' }
  },
  arguments: [
    { name: 'push|pull', description: 'push copies DIR to the cluster; pull copies it from the cluster' },
    { name: 'DIR', description: 'a folder inside a mapped local folder (default: the current folder)' }
  ],
  examples: [
    { description: 'Send the current project to the cluster', command: 'hpclab sync push' },
    { description: 'Bring results home', command: 'hpclab sync pull ~/projects/thesis/results' },
    {
      description: 'See what a mirror that also removes stale files would do',
      command: 'hpclab sync push --delete --dry-run'
    }
  ],
  env: ['HPCLAB_CONFIG', 'XDG_CONFIG_HOME', 'SSH_AUTH_SOCK', 'SHELL', 'CI'],
  async run({ values, positionals }) {
    const [direction, dir = '.', ...extra] = positionals;
    if (direction === undefined)
      throw new UsageError('say which way: hpclab sync push (to the cluster) or hpclab sync pull (from it)');
    if (!(DIRECTIONS as readonly string[]).includes(direction))
      throw new UsageError(
        `unknown sync direction "${direction}"${didYouMean(direction, [...DIRECTIONS])}: use push or pull`
      );
    if (extra.length > 0) throw new UsageError(`unexpected ${JSON.stringify(extra[0])}: give one DIR`);
    const ctx = await openContext(values.config);
    try {
      const cluster = pickCluster(ctx, values.cluster);
      const home = os.homedir();
      const local = path.resolve(dir);
      let mapped;
      try {
        mapped = mapSyncDir(getCluster(ctx.config, cluster).pathMap, local, home, cluster);
      } catch (err) {
        if (err instanceof SyncInputError) throw new UsageError(`${err.message} (in ${ctx.configPath})`);
        throw err;
      }
      const { transport } = ctx.clusters.get(cluster);
      const remoteTree = await ctx.progress.during(`Connecting to ${cluster}…`, () =>
        openClusterTree(transport, mapped.remote)
      );
      const localTree = new LocalTree(local, tildePath(local, home));
      const [source, dest] = direction === 'push' ? [localTree, remoteTree] : [remoteTree, localTree];
      const verb = direction === 'push' ? 'Pushing' : 'Pulling';
      ctx.progress.update(`${verb}: listing ${source.label} and ${dest.label}…`);
      let report: SyncReport;
      try {
        report = await syncTrees(source, dest, {
          delete: values.delete === true,
          dryRun: values['dry-run'] === true,
          onProgress: p => ctx.progress.update(progressLine(verb, p))
        });
      } catch (err) {
        if (err instanceof SyncInputError) throw new UsageError(err.message);
        throw err;
      } finally {
        ctx.progress.stop();
      }
      for (const s of report.skipped) process.stderr.write(`hpclab sync: skipped ${s.rel}: ${s.reason}\n`);
      for (const f of report.failed) process.stderr.write(`hpclab sync: failed ${f.rel}: ${f.error}\n`);
      process.stdout.write(
        values.json
          ? `${JSON.stringify({ direction, cluster, ...report })}\n`
          : `${summary(direction as 'push' | 'pull', report)}\n`
      );
      return report.failed.length > 0 ? 1 : 0;
    } finally {
      await ctx.clusters.close();
    }
  }
});
