import type { SessionInfo } from '../../sessions/types';
import type { WorkspaceBackup } from '../../workspace/types';
import { defineCommand } from '../args';
import { findCompanion, type CompanionClient } from '../companion-client';
import { UsageError } from '../context';
import { sizeText, table } from '../format';
import { Progress } from '../progress';
import { didYouMean } from '../suggest';

/*
 * `hpclab workspace backup|restore|list SESSION`: a session's scratch workspace, through the
 * running companion (the workspace lives on the session's node only while its job runs, and
 * the companion is what runs its backups, on a timer and at the end).
 */

const ID = /^[a-z0-9]{6,32}$/;
const ACTIONS = ['backup', 'restore', 'list'] as const;
const BACKUP = /^workspace-\d{8}T\d{6}Z\.tar(?:\.zst|\.lz4)?$/;

/** What a backup just made says: name, size, ratio, time. */
export function describeBackup(b: WorkspaceBackup): string {
  const ratio =
    b.sourceBytes && b.bytes
      ? `, ${(b.sourceBytes / b.bytes).toFixed(2)}× smaller than ${sizeText(b.sourceBytes)}`
      : '';
  const took = b.seconds !== undefined ? ` in ${b.seconds.toFixed(1)} s` : '';
  return `${b.name} (${sizeText(b.bytes)}${ratio})${took}`;
}

export function backupsTable(backups: WorkspaceBackup[]): string {
  if (backups.length === 0) return 'No backups yet.';
  return table(
    ['NAME', 'MADE', 'SIZE', 'COMPRESSOR'],
    backups.map(b => [b.name, b.at.replace('T', ' ').replace(/\.\d+Z$/, ' UTC'), sizeText(b.bytes), b.compressor])
  );
}

async function companionFor(): Promise<CompanionClient> {
  const companion = await findCompanion();
  if (!companion)
    throw new UsageError(
      "no hpclab companion runs: a workspace is backed up by the companion that runs its session (start one with 'hpclab serve' or 'hpclab lab')"
    );
  return companion;
}

export const workspaceCommand = defineCommand({
  name: 'workspace',
  summary: "Back up, restore or list a session's scratch workspace",
  usage: [
    'hpclab workspace backup SESSION [--json]',
    'hpclab workspace restore SESSION [--backup NAME] [--json]',
    'hpclab workspace list SESSION [--json]'
  ],
  description:
    'A profile\'s `workspace` is a directory on the node\'s own storage ("$TMPDIR/work"), restored from its newest backup when a session starts and backed up to shared storage on a timer, at the first walltime warning and when the session stops. backup makes one now (written to a temporary file and renamed, so a cut backup never replaces a good one); restore unpacks one (the newest unless --backup names it) into the running workspace; list shows the backups kept.',
  flags: {
    backup: { type: 'string', description: 'restore this backup (a name from list) instead of the newest' },
    json: { type: 'boolean', description: 'print the backup (or the list) as JSON' }
  },
  arguments: [
    { name: 'backup|restore|list', description: 'what to do' },
    { name: 'SESSION', description: "the session, as 'hpclab sessions' lists it" }
  ],
  examples: [
    { description: 'Back up now, before trying something risky', command: 'hpclab workspace backup 3f9a2b1c4d5e' },
    { description: 'The backups kept', command: 'hpclab workspace list 3f9a2b1c4d5e' },
    {
      description: 'Go back to an earlier one',
      command: 'hpclab workspace restore 3f9a2b1c4d5e --backup workspace-20261206T081500Z.tar.zst'
    }
  ],
  env: ['XDG_STATE_HOME', 'XDG_RUNTIME_DIR'],
  async run({ values, positionals }) {
    const [action, id, ...extra] = positionals;
    if (!ACTIONS.includes(action as (typeof ACTIONS)[number]))
      throw new UsageError(
        `${action ? `unknown workspace action "${action}"${didYouMean(action, [...ACTIONS])}` : 'an action is needed'}: use backup, restore or list, e.g. hpclab workspace backup SESSION`
      );
    if (!id || !ID.test(id))
      throw new UsageError(
        `SESSION: expected a session id as 'hpclab sessions' lists it, got ${JSON.stringify(id ?? '')}`
      );
    if (extra.length) throw new UsageError(`unexpected ${extra.join(' ')}: one session at a time`);
    const name = values.backup as string | undefined;
    if (name !== undefined && action !== 'restore') throw new UsageError('--backup: only restore takes a backup name');
    if (name !== undefined && !BACKUP.test(name))
      throw new UsageError(
        `--backup: expected a name from 'hpclab workspace list', like workspace-20261206T081500Z.tar.zst, got ${JSON.stringify(name)}`
      );
    const companion = await companionFor();
    const base = `/hpclab/api/sessions/${id}`;
    if (action === 'list') {
      const backups = await companion.request<WorkspaceBackup[]>('GET', `${base}/workspace/backups`);
      process.stdout.write(values.json ? `${JSON.stringify(backups, null, 2)}\n` : `${backupsTable(backups)}\n`);
      return 0;
    }
    const session = await companion.request<SessionInfo>('GET', base);
    const where = session.workspace ? `${session.workspace.dir} on ${session.node ?? 'its node'}` : 'the workspace';
    const progress = new Progress();
    progress.update(action === 'backup' ? `Backing up ${where}…` : `Restoring into ${where}…`);
    try {
      const result =
        action === 'backup'
          ? await companion.request<WorkspaceBackup>('POST', `${base}/workspace/backup`)
          : await companion.request<WorkspaceBackup | null>('POST', `${base}/workspace/restore`, {
              name: name ?? 'newest'
            });
      progress.stop();
      if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
      else if (!result)
        process.stdout.write(
          `No backup to restore yet in ${session.workspace?.backupDir ?? 'the backup directory'}.\n`
        );
      else process.stdout.write(`${action === 'backup' ? 'Backed up' : 'Restored'} ${describeBackup(result)}\n`);
      return 0;
    } finally {
      progress.stop();
    }
  }
});
