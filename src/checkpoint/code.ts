/*
 * The Python that saves a remote kernel's variables before its allocation ends and puts them back
 * in the kernel of the next one. It runs in the user's own namespace, so everything it needs lives
 * in a function whose name starts with `_` (never saved) and is deleted afterwards. Values from
 * TypeScript reach it only as JSON read by `json.loads` of a string literal: nothing a notebook
 * path holds can become code.
 */

/** The line each snippet prints, followed by one JSON object; the caller looks for it in stdout. */
export const MARKERS = {
  checkpoint: 'HPCLAB-CHECKPOINT',
  restore: 'HPCLAB-RESTORE',
  probe: 'HPCLAB-JOB'
} as const;

/**
 * Every snippet starts with this line, so that the plugin can tell its own runs from the user's
 * in the kernel's execute_input messages (a user cell that ran since a checkpoint makes it stale).
 */
export const SNIPPET_PREFIX = '# hpclab:';

/**
 * A Python string literal whose value is `value` as JSON: JSON's escapes are Python's, and
 * anything outside ASCII is written as \uXXXX so the literal is plain ASCII whatever the value.
 */
export function pythonJson(value: unknown): string {
  return JSON.stringify(JSON.stringify(value)).replace(
    /[\u007f-\uffff]/g,
    c => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`
  );
}

/** FNV-1a (64 bits) of the UTF-16 code units: stable across Labs and browsers, no crypto needed. */
function shortHash(text: string): string {
  let hash = 0xcbf29ce484222325n;
  for (let i = 0; i < text.length; i++) {
    hash ^= BigInt(text.charCodeAt(i));
    hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return hash.toString(16).padStart(16, '0').slice(0, 12);
}

/**
 * The checkpoint's file name for a notebook: its path, readable (`[A-Za-z0-9_.-]`, the end kept
 * when long, as the file name says most), and a hash of the whole path (with the Jupyter root
 * when known), so two notebooks whose names read alike after sanitising never share a file and
 * the same notebook finds its checkpoint after the kernel restarts in a new allocation.
 */
export function checkpointKey(notebookPath: string, root = ''): string {
  const readable = notebookPath
    .replace(/[^A-Za-z0-9_.-]+/g, '_')
    .slice(-60)
    .replace(/^[._-]+/, '');
  return `${readable || 'notebook'}-${shortHash(`${root}\n${notebookPath}`)}`;
}

/** Where a checkpoint lives on the cluster; `~` is expanded by Python on the node. */
export function checkpointPath(key: string): string {
  return `~/.hpclab/checkpoints/${key}.pkl`;
}

/**
 * Saves every variable of the user namespace that is the user's (not `_`-names, not what IPython
 * hides, not In/Out/exit/quit/get_ipython), each pickled on its own with dill so that one value
 * that cannot be pickled is named with the reason instead of losing the rest. The file is
 * `{name: bytes}` pickled with the standard library, written to `path.tmp` (dirs 0700, file 0600)
 * and renamed over `path`: a checkpoint cut off by the walltime never replaces a good one.
 * Prints `HPCLAB-CHECKPOINT {"path", "saved", "skipped", "bytes", "seconds", "pickler", "count",
 * "written"}`; `count` is IPython's execution count, which tells later whether the user ran a cell
 * since. A namespace with nothing of the user's writes no file (`written: false`).
 */
export function checkpoint(path: string): string {
  return `${SNIPPET_PREFIX} checkpoint (save the variables to continue in a new session)
def _hpclab_checkpoint(path):
    import json, os, pickle, sys, time
    started = time.monotonic()
    try:
        import dill as pickler
        pickler_name = 'dill'
    except ImportError:
        pickler, pickler_name = pickle, 'pickle'
        print('hpclab: dill is not installed in this environment: saving with pickle, which cannot save functions, lambdas or classes defined in the notebook', file=sys.stderr)
    ip = get_ipython()
    hidden = set(ip.user_ns_hidden) | {'In', 'Out', 'exit', 'quit', 'get_ipython'}
    saved, skipped, blobs = [], {}, {}
    for name, value in list(ip.user_ns.items()):
        if name.startswith('_') or name in hidden:
            continue
        try:
            blobs[name] = pickler.dumps(value)
            saved.append(name)
        except Exception as err:
            skipped[name] = '%s: %s' % (type(value).__name__, err)
    path = os.path.expanduser(path)
    # An empty namespace (a kernel just restarted) never replaces the checkpoint it is to restore.
    written = bool(saved or skipped)
    if written:
        folder = os.path.dirname(path)
        os.makedirs(folder, mode=0o700, exist_ok=True)
        os.chmod(folder, 0o700)
        tmp = path + '.tmp'
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, 'wb') as f:
            os.fchmod(f.fileno(), 0o600)
            pickle.dump(blobs, f, protocol=pickle.HIGHEST_PROTOCOL)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    print(${JSON.stringify(`${MARKERS.checkpoint} `)} + json.dumps({
        'path': path, 'saved': saved, 'skipped': skipped,
        'bytes': os.path.getsize(path) if written else 0, 'written': written,
        'seconds': round(time.monotonic() - started, 3), 'pickler': pickler_name,
        'count': ip.execution_count}), flush=True)
try:
    _hpclab_checkpoint(__import__('json').loads(${pythonJson(path)}))
finally:
    del _hpclab_checkpoint
`;
}

/**
 * Puts each saved variable back into the user namespace, one at a time: one that cannot be
 * loaded (a module missing here, dill missing here) goes into `failed` with the reason.
 * Prints `HPCLAB-RESTORE {"restored", "failed"}`, or `{"missing": true}` when there is no file.
 */
export function restore(path: string): string {
  return `${SNIPPET_PREFIX} restore (the variables saved before the last allocation ended)
def _hpclab_restore(path):
    import json, os, pickle
    path = os.path.expanduser(path)
    if not os.path.exists(path):
        print(${JSON.stringify(`${MARKERS.restore} `)} + json.dumps({'missing': True}), flush=True)
        return
    try:
        import dill as unpickler
    except ImportError:
        unpickler = pickle
    with open(path, 'rb') as f:
        blobs = pickle.load(f)
    ip = get_ipython()
    restored, failed = [], {}
    for name, blob in blobs.items():
        try:
            ip.user_ns[name] = unpickler.loads(blob)
            restored.append(name)
        except Exception as err:
            failed[name] = '%s: %s' % (type(err).__name__, err)
    print(${JSON.stringify(`${MARKERS.restore} `)} + json.dumps({'restored': restored, 'failed': failed}), flush=True)
try:
    _hpclab_restore(__import__('json').loads(${pythonJson(path)}))
finally:
    del _hpclab_restore
`;
}

/**
 * Which allocation the kernel runs in (a kernel step sees its allocation's SLURM_JOB_ID), and
 * IPython's execution count. One expression: it binds no name in the user namespace.
 */
export function probe(): string {
  return `${SNIPPET_PREFIX} probe (which job this kernel runs in)
print(${JSON.stringify(`${MARKERS.probe} `)} + __import__('json').dumps({'job': __import__('os').environ.get('SLURM_JOB_ID'), 'count': get_ipython().execution_count}), flush=True)
`;
}
