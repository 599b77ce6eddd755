/*
 * The program a run's job starts when the run has parameters or is a notebook: a fixed Python
 * file staged beside the researcher's file as `hpclab-task.py`, run by the profile's python.
 *
 * It reads the run's manifest (`hpclab-run.json`), picks this task's parameter set by
 * SLURM_ARRAY_TASK_ID and then
 *  - for a script: puts each parameter in the environment as HPCLAB_PARAM_<NAME> (and all of
 *    them as JSON in HPCLAB_PARAMS) and execs the script, so Slurm's signals reach it;
 *  - for a notebook: injects a cell tagged `injected-parameters` after the cell tagged
 *    `parameters` (papermill's convention; at the top when there is none), runs every cell with
 *    nbclient, and writes the executed notebook to out/, also when a cell fails (the notebook
 *    then shows where and why, as papermill's does).
 * The kernel of a notebook talks over unix sockets in a 0700 directory of its own, so no other
 * user of the node can connect to it. Values reach Python as repr() of JSON values: a string
 * stays the string it was, whatever quotes, `$(…)` or newlines it holds.
 *
 * The text is a constant; what varies arrives in the manifest, never spliced into code.
 */

/** The staged file names, fixed so a run directory always reads the same way. */
export const TASK_RUNNER_FILE = 'hpclab-task.py';
export const RUN_MANIFEST_FILE = 'hpclab-run.json';

export const TASK_RUNNER_PY = `# hpclab task runner: written by hpclab, run by a run's batch job. See hpclab's server/runs/task-runner.ts.
import json, os, shutil, sys, tempfile


def fail(message, code=2):
    sys.stderr.write("hpclab: %s\\n" % message)
    sys.exit(code)


def task_index(manifest):
    grid = manifest.get("params") or []
    if not grid:
        return None, {}
    raw = os.environ.get("SLURM_ARRAY_TASK_ID")
    if raw is None or not raw.isdigit() or int(raw) >= len(grid):
        fail("this run has %d parameter sets; SLURM_ARRAY_TASK_ID=%r picks none of them" % (len(grid), raw))
    return int(raw), grid[int(raw)]


def output_name(manifest, task):
    stem = os.path.splitext(manifest["file"])[0]
    array_task = os.environ.get("SLURM_ARRAY_TASK_ID")
    suffix = "_%s" % array_task if array_task is not None else ""
    return os.path.join("out", "%s%s.ipynb" % (stem, suffix))


def run_script(manifest, params):
    env = dict(os.environ)
    for name, value in params.items():
        env["HPCLAB_PARAM_" + name] = value if isinstance(value, str) else json.dumps(value)
    env["HPCLAB_PARAMS"] = json.dumps(params)
    start = {"python": [sys.executable], "shell": ["bash"], "executable": []}[manifest["kind"]]
    argv = start + ["./" + manifest["file"]] + manifest.get("args", [])
    sys.stdout.flush()
    try:
        os.execvpe(argv[0], argv, env)
    except OSError as err:
        fail("cannot start %s: %s" % (argv[0], err), 127)


def parameter_cell(nbformat, params):
    lines = ["# Parameters (injected by hpclab)"]
    lines += ["%s = %r" % (name, value) for name, value in params.items()]
    cell = nbformat.v4.new_code_cell("\\n".join(lines) + "\\n")
    cell.metadata["tags"] = ["injected-parameters"]
    return cell


def inject(nbformat, nb, params):
    nb.cells = [c for c in nb.cells if "injected-parameters" not in c.get("metadata", {}).get("tags", [])]
    at = next((i + 1 for i, c in enumerate(nb.cells) if "parameters" in c.get("metadata", {}).get("tags", [])), 0)
    if params:
        nb.cells.insert(at, parameter_cell(nbformat, params))
    return at


def kernel_name(nb):
    from jupyter_client.kernelspec import KernelSpecManager

    wanted = nb.metadata.get("kernelspec", {}).get("name") or "python3"
    found = KernelSpecManager().find_kernel_specs()
    if wanted in found:
        return wanted
    print("hpclab: the notebook's kernel %r is not installed here; running it with python3" % wanted, flush=True)
    return "python3"


def run_notebook(manifest, task, params):
    try:
        import nbformat
        from nbclient import NotebookClient
        from nbclient.exceptions import CellExecutionError
        from jupyter_client.manager import KernelManager
    except ImportError as err:
        fail("running a notebook needs nbclient and ipykernel in the profile's environment: %s" % err, 3)
    nb = nbformat.read(manifest["file"], as_version=4)
    # Cells of nbformat 4.5+ carry ids; older writers left them out, and nbformat warns on write.
    if nb.nbformat_minor >= 5:
        for i, cell in enumerate(nb.cells):
            cell.setdefault("id", "hpclab-%d" % i)
    inject(nbformat, nb, params)
    out = output_name(manifest, task)
    os.makedirs("out", mode=0o700, exist_ok=True)
    sockets = tempfile.mkdtemp(prefix="hpclab-kernel-")  # 0700: only this user reaches the kernel
    km = KernelManager(kernel_name=kernel_name(nb), transport="ipc", ip=os.path.join(sockets, "k"))
    client = NotebookClient(nb, km=km, timeout=None, resources={"metadata": {"path": os.getcwd()}})
    print("hpclab: running %s%s" % (manifest["file"], " with %s" % json.dumps(params) if params else ""), flush=True)
    code = 0
    try:
        client.execute()
    except CellExecutionError as err:
        sys.stderr.write("hpclab: a cell failed:\\n%s\\n" % err)
        code = 1
    finally:
        nbformat.write(nb, out)
        shutil.rmtree(sockets, ignore_errors=True)
        print("hpclab: executed notebook written to %s" % out, flush=True)
    sys.exit(code)


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        manifest = json.load(f)
    task, params = task_index(manifest)
    if manifest["kind"] == "notebook":
        run_notebook(manifest, task, params)
    else:
        run_script(manifest, params)


main()
`;
