/** How a workspace is packed: zstd and lz4 stream fast at low levels; `none` is plain tar. */
export type Compressor = 'zstd' | 'lz4' | 'none';

/** One backup on shared storage, as listed or as just made. */
export interface WorkspaceBackup {
  /** The file's name in the backup directory, e.g. `workspace-20261206T081500Z.tar.zst`. */
  name: string;
  /** When it was made (ISO 8601). */
  at: string;
  bytes: number;
  compressor: Compressor;
  /** How long the backup took, for the one just made. */
  seconds?: number;
  /** Bytes of the workspace it holds, for the one just made. */
  sourceBytes?: number;
}

/** A session's workspace as the API shows it (src/contract/sessions.ts). */
export interface WorkspaceStatus {
  /** As the profile says it, variables unexpanded. */
  dir: string;
  backupDir: string;
  autoBackupMinutes: number;
  state: 'idle' | 'restoring' | 'backing-up';
  lastBackup: WorkspaceBackup | null;
  /** Why the last backup or restore failed; null after one succeeds. */
  error: string | null;
}
