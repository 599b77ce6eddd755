/*
 * The one remote command that finds the Python environments a user has on a cluster.
 *
 * nb_conda_kernels froze Jupyter for a minute by running conda once per env (#210); here one
 * POSIX sh run on the login node lists conda envs, venvs and modules and checks every python
 * in parallel, each with a time cap. The script text is a constant: the venv roots (user
 * values) arrive only as positional parameters, so nothing a user types is ever parsed as shell.
 *
 * Output, format 1 (fields separated by one tab; an empty field means "unknown"):
 *
 *   hpclab-discovery<TAB>1
 *   env<TAB>KIND<TAB>NAME<TAB>PREFIX<TAB>PYTHON<TAB>X.Y<TAB>0|1
 *   kernelspec<TAB>PREFIX<TAB>DIR<TAB>0|1<TAB>KERNEL_JSON
 *   end
 *
 * A `kernelspec` line follows its env's line for each `PREFIX/share/jupyter/kernels/DIR/kernel.json`
 * (where conda, R and Julia put them; read, not asked of jupyter, which the env may not have);
 * 0|1 says whether it has logo-64x64.png. KERNEL_JSON is the file with tabs and line breaks
 * turned into spaces, which changes nothing in valid JSON (they cannot occur raw inside its
 * strings); it is empty when the file is unreadable or larger than KERNEL_JSON_MAX_BYTES. Older
 * parsers skip these lines, so the format number stays 1.
 *
 * KIND is conda, venv or module; modules have only a NAME (loading each one to ask its python
 * would take seconds apiece). The header lets the parser skip what login scripts print first,
 * and `end` tells a complete run from one cut short. Paths holding a tab or newline are skipped.
 */

/** Kinds the script emits, in the order lists show them. */
export const DISCOVERY_KINDS = ['conda', 'venv', 'module'] as const;
export const DISCOVERY_HEADER = 'hpclab-discovery\t1';
export const DISCOVERY_END = 'end';

/** Pythons checked at once: enough to hide cold starts on a shared filesystem, few enough not to load a login node. */
const PARALLEL = 8;
/** Seconds each step may take before `timeout` stops it (when the node has `timeout`). */
const PYTHON_CAP_SEC = 10;
const CONDA_CAP_SEC = 30;
const MODULES_CAP_SEC = 30;
/** A kernel.json is a few hundred bytes; anything near this is not one, and is not sent. */
export const KERNEL_JSON_MAX_BYTES = 65536;

// Why find_spec and not import: importing ipykernel pulls in zmq and tornado (a second or more
// on a busy login node); find_spec only looks on sys.path. Run from an empty directory, because
// `python -c` puts the current directory first on sys.path and $HOME may hold a stray ipykernel.py.
const PYTHON_CHECK =
  'import importlib.util, sys; print("%d.%d" % sys.version_info[:2], int(importlib.util.find_spec("ipykernel") is not None), sep="\\t")';

// Runs in its own `sh -c` so `timeout` can stop it and whatever it starts (GNU timeout signals its
// process group), and so a broken init script ends only this part. Same search as the batch
// jobs' module setup, with the sh flavour of each init script. No single quotes inside.
const MODULE_LIST = `
if ! command -v module >/dev/null 2>&1; then
  for f in \${MODULESHOME:+"$MODULESHOME/init/sh"} \${LMOD_PKG:+"$LMOD_PKG/init/sh"} /etc/profile.d/lmod.sh /etc/profile.d/z00_lmod.sh /etc/profile.d/modules.sh /usr/share/lmod/lmod/init/sh /usr/share/Modules/init/sh; do
    if [ -r "$f" ]; then . "$f"; fi
    if command -v module >/dev/null 2>&1; then break; fi
  done
fi
if command -v module >/dev/null 2>&1; then module -t avail 2>&1; fi
`;

/*
 * Notes on choices below:
 * - conda prints `env list --json` indented, one prefix per line; a line with a backslash holds
 *   a JSON escape sh cannot decode (non-ASCII, quotes), so that env is skipped rather than misread.
 * - The root prefix is the install the conda command lives in (…/bin/conda or …/condabin/conda).
 * - Venv roots may start with a literal `~/` (the caller does not know the remote $HOME);
 *   the quoted pattern in ${root#'~/'} keeps the shell from expanding it itself.
 * - `wait $pids` waits for the current batch only, not for the module listing running alongside.
 */
const SCRIPT = `want_modules=$1
shift
tab=$(printf '\\t')
nl='
'
tmp=$(mktemp -d "\${TMPDIR:-/tmp}/hpclab-discover.XXXXXX") || { echo 'hpclab: cannot create a temporary directory' >&2; exit 1; }
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM
has_timeout=
if command -v timeout >/dev/null 2>&1; then has_timeout=1; fi
cap() { s=$1; shift; if [ -n "$has_timeout" ]; then timeout "$s" "$@"; else "$@"; fi; }
add() {
  case "$2$3$4" in *"$tab"*|*"$nl"*) return;; esac
  printf '%s\\t%s\\t%s\\t%s\\n' "$1" "$2" "$3" "$4" >>"$tmp/list"
}
kernelspecs() {
  for k in "$1"/share/jupyter/kernels/*/kernel.json; do
    [ -f "$k" ] || continue
    d=\${k%/kernel.json}
    case $d in *"$tab"*|*"$nl"*) continue;; esac
    logo=0
    if [ -f "$d/logo-64x64.png" ]; then logo=1; fi
    size=$( { wc -c <"$k"; } 2>/dev/null | tr -d ' ')
    printf 'kernelspec\\t%s\\t%s\\t%s\\t' "$1" "\${d##*/}" "$logo"
    case $size in ''|*[!0-9]*) ;; *) if [ "$size" -le ${KERNEL_JSON_MAX_BYTES} ]; then tr '\\t\\r\\n' '   ' <"$k" 2>/dev/null; fi;; esac
    echo
  done
}
modpid=
if [ "$want_modules" = modules=1 ]; then
  cap ${MODULES_CAP_SEC} sh -c '${MODULE_LIST}' </dev/null >"$tmp/modules" 2>/dev/null &
  modpid=$!
fi
conda=
if command -v conda >/dev/null 2>&1; then conda=$(command -v conda)
elif [ -n "\${CONDA_EXE:-}" ] && [ -x "$CONDA_EXE" ]; then conda=$CONDA_EXE
else
  for d in "$HOME/miniforge3" "$HOME/miniconda3" "$HOME/anaconda3" "$HOME/mambaforge" /opt/conda; do
    if [ -x "$d/bin/conda" ]; then conda=$d/bin/conda; break; fi
  done
fi
case $conda in /*)
  base=\${conda%/*}; base=\${base%/*}
  cap ${CONDA_CAP_SEC} "$conda" env list --json </dev/null 2>/dev/null |
    sed -n '/"envs":[[:space:]]*\\[/,/^[[:space:]]*\\],\\{0,1\\}[[:space:]]*$/s/^[[:space:]]*"\\(\\/.*\\)",\\{0,1\\}[[:space:]]*$/\\1/p' |
    grep -v '\\\\' >"$tmp/conda"
  while IFS= read -r p; do
    [ -x "$p/bin/python" ] || continue
    if [ "$p" = "$base" ]; then n=base; else n=\${p##*/}; fi
    add conda "$n" "$p" "$p/bin/python"
  done <"$tmp/conda";;
esac
for root in "$@"; do
  case $root in
    '~') root=$HOME;;
    '~/'*) [ -n "$HOME" ] || continue; root=$HOME/\${root#'~/'};;
  esac
  case $root in /?*) ;; *) continue;; esac
  root=\${root%/}
  for d in "$root" "$root"/* "$root"/*/*; do
    [ -f "$d/pyvenv.cfg" ] && [ -x "$d/bin/python" ] || continue
    case $d in "$root"/*/*) n=\${d#"$root"/};; *) n=\${d##*/};; esac
    add venv "$n" "$d" "$d/bin/python"
  done
done
check='${PYTHON_CHECK}'
i=0
pids=
if [ -f "$tmp/list" ]; then
  while IFS="$tab" read -r kind name prefix py; do
    i=$((i + 1))
    (cd "$tmp" && cap ${PYTHON_CAP_SEC} "$py" -c "$check" </dev/null 2>/dev/null | tail -n 1 >"$tmp/r.$i") &
    pids="$pids $!"
    if [ $((i % ${PARALLEL})) -eq 0 ]; then wait $pids; pids=; fi
  done <"$tmp/list"
  if [ -n "$pids" ]; then wait $pids; fi
fi
printf 'hpclab-discovery\\t1\\n'
i=0
if [ -f "$tmp/list" ]; then
  while IFS="$tab" read -r kind name prefix py; do
    i=$((i + 1))
    r=
    if [ -f "$tmp/r.$i" ]; then r=$(cat "$tmp/r.$i"); fi
    case $r in [0-9]*.[0-9]*"$tab"[01]) ;; *) r=$tab;; esac
    printf 'env\\t%s\\t%s\\t%s\\t%s\\t%s\\n' "$kind" "$name" "$prefix" "$py" "$r"
    kernelspecs "$prefix" </dev/null
  done <"$tmp/list"
fi
if [ -n "$modpid" ]; then
  wait "$modpid"
  sed -e 's/([^)]*)//g' -e 's/<[^>]*>//g' -e 's/[[:space:]]//g' "$tmp/modules" |
    grep -iE 'python|anaconda|miniconda|miniforge|conda|pytorch|tensorflow' | grep -vE '^/|[:/]$' | sort -u |
    while IFS= read -r m; do printf 'env\\tmodule\\t%s\\t\\t\\t\\t\\n' "$m"; done
fi
printf 'end\\n'
`;

// The embedded pieces sit inside single quotes in SCRIPT; one there would end the quoting.
if (MODULE_LIST.includes("'") || PYTHON_CHECK.includes("'"))
  throw new Error('discovery script pieces must not contain single quotes');

/** A root the script can use: absolute, or `~`/`~/…` for the remote $HOME, and nothing that breaks a line of output. */
function checkRoot(root: string): string {
  if (typeof root !== 'string' || !/^(?:\/|~\/|~$)/.test(root)) {
    throw new TypeError(`a venv root must be an absolute path or start with "~/": ${JSON.stringify(root)}`);
  }
  if (/[\0\t\r\n]/.test(root))
    throw new TypeError(`a venv root cannot hold a NUL, tab or line break: ${JSON.stringify(root)}`);
  return root;
}

export interface DiscoveryScriptOptions {
  /** Directories holding venvs at depth 0, 1 or 2 (`~/` means the remote $HOME). */
  venvRoots: string[];
  /** List python-like modules too (default true). */
  moduleNames?: boolean;
}

/** The argv that runs discovery once on the login node: `sh -c SCRIPT sh modules=1|0 ROOT…`. */
export function discoveryArgv(options: DiscoveryScriptOptions): string[] {
  const roots = options.venvRoots.map(checkRoot);
  return ['sh', '-c', SCRIPT, 'sh', options.moduleNames === false ? 'modules=0' : 'modules=1', ...roots];
}
