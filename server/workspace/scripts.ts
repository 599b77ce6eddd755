import type { Compressor } from './types';

/*
 * The shell that backs up and restores a scratch workspace on the node. The script text is a
 * constant; every value (the directories as the profile writes them, the compressor, the level,
 * how many to keep, a backup's name) arrives as a positional parameter, so nothing a user typed
 * is ever parsed as shell. Directories may name variables of the job (`$TMPDIR/work`,
 * `/scratch/${USER}/w`): `hpclab_expand` replaces each `$NAME` / `${NAME}` with that variable's
 * value by indirection, and a leading `~/` with $HOME; nothing else is expanded.
 *
 * A backup is written to a hidden `.partial` file and renamed into place only when the archive
 * and its compressor both finished, so a backup cut short (walltime, a killed step) never
 * replaces a good one; the newest `keep` backups stay. Names sort by time:
 * `workspace-YYYYMMDDTHHMMSSZ.tar[.zst|.lz4]`.
 *
 * Exit codes: 3 the workspace or a variable is missing, 4 the backup directory cannot be made,
 * 5 the compressor is not installed, 6 the archive failed, 7 no such backup.
 */

/** Backup names, as the scripts write them and lists read them. */
export const BACKUP_NAME = /^workspace-(\d{8}T\d{6}Z)\.tar(\.zst|\.lz4)?$/;

const EXPAND = [
  '# $1 as a path: $NAME / ${NAME} from the environment, a leading ~/ as $HOME; sets hpclab_path.',
  'hpclab_expand() {',
  '  local t=$1 name',
  "  local re='^([^$]*)[$]([{]([A-Za-z_][A-Za-z0-9_]*)[}]|([A-Za-z_][A-Za-z0-9_]*))(.*)$'",
  '  hpclab_path=',
  '  if [[ $t == "~/"* ]]; then hpclab_path=$HOME/; t=${t#"~/"}; fi',
  '  while [[ $t =~ $re ]]; do',
  '    hpclab_path+=${BASH_REMATCH[1]}',
  '    name=${BASH_REMATCH[3]:-${BASH_REMATCH[4]}}',
  '    t=${BASH_REMATCH[5]}',
  '    if [ -z "${!name:-}" ]; then',
  '      builtin printf \'hpclab: %s uses $%s, which is not set on %s\\n\' "$1" "$name" "$(hostname)" >&2; return 3',
  '    fi',
  '    hpclab_path+=${!name}',
  '  done',
  '  hpclab_path+=$t',
  '}'
];

const COMPRESSORS = [
  '# The compressor for $1 at level $2: sets hpclab_ext, hpclab_pack and hpclab_unpack (argv arrays).',
  'hpclab_codec() {',
  '  case $1 in',
  '    zstd) hpclab_ext=tar.zst; hpclab_pack=(zstd -q -T0 "-$2"); hpclab_unpack=(zstd -q -d -c) ;;',
  '    lz4) hpclab_ext=tar.lz4; hpclab_pack=(lz4 -q "-$2"); hpclab_unpack=(lz4 -q -d -c) ;;',
  '    *) hpclab_ext=tar; hpclab_pack=(cat); hpclab_unpack=(cat) ;;',
  '  esac',
  '  if ! command -v "${hpclab_pack[0]}" >/dev/null; then',
  '    builtin printf \'hpclab: %s is not installed on %s; install it or set the workspace compressor to "none"\\n\' "$1" "$(hostname)" >&2',
  '    return 5',
  '  fi',
  '}'
];

/** Backs up `$1` (workspace) into `$2` (backup dir) with `$3` (compressor) at `$4` (level), keeping `$5`. Prints one JSON line. */
const BACKUP = [
  'set -u',
  'umask 077',
  ...EXPAND,
  ...COMPRESSORS,
  'hpclab_expand "$1" || exit 3; ws=$hpclab_path',
  'hpclab_expand "$2" || exit 3; dest=$hpclab_path',
  'hpclab_codec "$3" "$4" || exit 5',
  'keep=$5',
  'if [ ! -d "$ws" ]; then builtin printf \'hpclab: the workspace %s does not exist on %s\\n\' "$ws" "$(hostname)" >&2; exit 3; fi',
  'mkdir -p -m 700 -- "$dest" || exit 4',
  '# One backup a second at most: a name is its time.',
  'while :; do',
  '  stamp=$(date -u +%Y%m%dT%H%M%SZ); name=workspace-$stamp.$hpclab_ext',
  '  [ -z "$(compgen -G "$dest/workspace-$stamp.tar*")" ] && break',
  '  sleep 1',
  'done',
  'tmp="$dest/.$name.$$.partial"',
  'start=$(date +%s%N)',
  'src_bytes=$(du -sb -- "$ws" | cut -f1)',
  'tar -C "$ws" -cf - . | "${hpclab_pack[@]}" >"$tmp"',
  'codes=("${PIPESTATUS[@]}")',
  '# tar exits 1 when a file changed while it read it: the archive is whole, that file as it was then.',
  'if [ "${codes[0]}" -gt 1 ] || [ "${codes[1]}" -ne 0 ]; then',
  '  rm -f -- "$tmp"',
  '  builtin printf \'hpclab: the backup of %s failed (tar %s, %s %s); the previous backups are untouched\\n\' "$ws" "${codes[0]}" "${hpclab_pack[0]}" "${codes[1]}" >&2',
  '  exit 6',
  'fi',
  '# On disk before it takes a good name.',
  'sync -- "$tmp" 2>/dev/null || sync',
  'mv -f -- "$tmp" "$dest/$name" || { rm -f -- "$tmp"; exit 6; }',
  'seconds=$(( ($(date +%s%N) - start) / 1000000 ))',
  'bytes=$(stat -c %s -- "$dest/$name")',
  '# The newest $keep stay; partial files of backups that died long ago go.',
  'ls -1 -- "$dest" | grep -E \'^workspace-[0-9]{8}T[0-9]{6}Z\\.tar(\\.zst|\\.lz4)?$\' | sort -r | tail -n +$((keep + 1)) |',
  '  while IFS= read -r old; do rm -f -- "$dest/$old"; done',
  'find "$dest" -maxdepth 1 -name \'.workspace-*.partial\' -mmin +120 -delete 2>/dev/null',
  'builtin printf \'{"name":"%s","bytes":%s,"sourceBytes":%s,"ms":%s}\\n\' "$name" "$bytes" "$src_bytes" "$seconds"'
];

/**
 * Restores backup `$3` (a name, or '' for the newest) from `$2` into `$1`, made if missing.
 * Prints one JSON line: `{"name":null}` when there is no backup yet.
 */
const RESTORE = [
  'set -u',
  'umask 077',
  ...EXPAND,
  'hpclab_expand "$1" || exit 3; ws=$hpclab_path',
  'hpclab_expand "$2" || exit 3; dest=$hpclab_path',
  'name=$3',
  "names_re='^workspace-[0-9]{8}T[0-9]{6}Z\\.tar(\\.zst|\\.lz4)?$'",
  'mkdir -p -m 700 -- "$ws" || exit 3',
  'if [ -z "$name" ]; then',
  '  name=$(ls -1 -- "$dest" 2>/dev/null | grep -E "$names_re" | sort -r | head -n 1)',
  '  if [ -z "$name" ]; then builtin printf \'{"name":null}\\n\'; exit 0; fi',
  'elif ! [[ $name =~ $names_re ]] || [ ! -f "$dest/$name" ]; then',
  '  builtin printf \'hpclab: no backup %s in %s\\n\' "$name" "$dest" >&2; exit 7',
  'fi',
  'case $name in *.zst) unpack=(zstd -q -d -c) ;; *.lz4) unpack=(lz4 -q -d -c) ;; *) unpack=(cat) ;; esac',
  'bytes=$(stat -c %s -- "$dest/$name")',
  'builtin printf \'hpclab: restoring %s (%s bytes) into %s\\n\' "$name" "$bytes" "$ws" >&2',
  'start=$(date +%s%N)',
  '"${unpack[@]}" <"$dest/$name" | tar -C "$ws" -xf -',
  'codes=("${PIPESTATUS[@]}")',
  'if [ "${codes[0]}" -ne 0 ] || [ "${codes[1]}" -ne 0 ]; then',
  '  builtin printf \'hpclab: restoring %s failed (%s %s, tar %s)\\n\' "$name" "${unpack[0]}" "${codes[0]}" "${codes[1]}" >&2',
  '  exit 6',
  'fi',
  'seconds=$(( ($(date +%s%N) - start) / 1000000 ))',
  'builtin printf \'{"name":"%s","bytes":%s,"ms":%s}\\n\' "$name" "$bytes" "$seconds"'
];

export interface WorkspaceArgs {
  /** As the profile says it: variables are expanded on the node. */
  dir: string;
  backupDir: string;
  compressor: Compressor;
  level: number;
  keep: number;
}

/** `bash -c <backup script> hpclab-workspace …`: argv to run on the node (in a job step). */
export function backupArgv(a: WorkspaceArgs): string[] {
  return [
    'bash',
    '-c',
    `${BACKUP.join('\n')}\n`,
    'hpclab-workspace',
    a.dir,
    a.backupDir,
    a.compressor,
    String(a.level),
    String(a.keep)
  ];
}

/** `bash -c <restore script> …`: `name` '' restores the newest. */
export function restoreArgv(a: Pick<WorkspaceArgs, 'dir' | 'backupDir'>, name = ''): string[] {
  return ['bash', '-c', `${RESTORE.join('\n')}\n`, 'hpclab-workspace', a.dir, a.backupDir, name];
}

/** Lists backups: one `name size` line each, from `find` on the (expanded) backup directory. */
export function listArgv(a: Pick<WorkspaceArgs, 'backupDir'>): string[] {
  const list = [
    'set -u',
    ...EXPAND,
    'hpclab_expand "$1" || exit 3',
    '[ -d "$hpclab_path" ] || exit 0',
    "find \"$hpclab_path\" -maxdepth 1 -type f -name 'workspace-*' -printf '%f %s\\n'"
  ];
  return ['bash', '-c', `${list.join('\n')}\n`, 'hpclab-workspace', a.backupDir];
}

/** The restore as lines of the Lab's job script: a function called with the values quoted by the caller. */
export function restoreFunctionLines(): string[] {
  return [
    'hpclab_workspace_restore() (',
    ...RESTORE.map(l => `  ${l}`),
    ')',
    '# The workspace directory, its variables expanded.',
    'hpclab_workspace_dir() (',
    ...EXPAND.map(l => `  ${l}`),
    '  hpclab_expand "$1" || exit 3',
    '  builtin printf \'%s\\n\' "$hpclab_path"',
    ')'
  ];
}

/** Its defaults: fast levels, as the backup runs while the researcher works. */
export const WORKSPACE_DEFAULTS = { compressor: 'zstd' as Compressor, level: 1, autoBackupMinutes: 30, keep: 3 };
