import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  checkpoint,
  checkpointKey,
  checkpointPath,
  MARKERS,
  probe,
  pythonJson,
  restore
} from '../../src/checkpoint/code';

/*
 * The checkpoint snippets run in a real IPython (what ipykernel runs cells in), each test in its
 * own process as a kernel would be: one process saves, a fresh one restores. Skipped where
 * /usr/bin/python3 has no IPython (ipykernel depends on it, so a node that runs kernels has it).
 */

const PYTHON = '/usr/bin/python3';
const hasIPython = spawnSync(PYTHON, ['-c', 'import IPython'], { stdio: 'ignore' }).status === 0;
const hasDill = spawnSync(PYTHON, ['-c', 'import dill'], { stdio: 'ignore' }).status === 0;

/** Runs cells in one IPython shell: the user's with history, hpclab's without (as run.ts sends them). */
const DRIVER = `
import json, sys
cells = json.load(sys.stdin)
if cells['hide_dill']:
    sys.modules['dill'] = None  # import dill now raises ImportError, as where it is not installed
from IPython.core.interactiveshell import InteractiveShell
sh = InteractiveShell.instance()
for cell in cells['user']:
    if not sh.run_cell(cell, store_history=True).success:
        sys.exit('user cell failed: ' + cell)
result = sh.run_cell(cells['snippet'], store_history=False)
if not result.success:
    sys.exit('snippet failed')
for cell in cells['after']:
    if not sh.run_cell(cell, store_history=True).success:
        sys.exit('cell after failed: ' + cell)
`;

let home: string;
/** What the last run wrote to stderr (where the snippets say what the user should know). */
let lastStderr = '';

beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'hpclab-ckpt-'));
});

afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

function ipython(
  snippet: string,
  { user = [] as string[], after = [] as string[], hideDill = false, env = {} as Record<string, string> } = {}
): string {
  const run = spawnSync(PYTHON, ['-c', DRIVER], {
    input: JSON.stringify({ user, snippet, after, hide_dill: hideDill }),
    env: { ...process.env, HOME: home, IPYTHONDIR: path.join(home, '.ipython'), ...env },
    encoding: 'utf8'
  });
  if (run.status !== 0) throw new Error(`python exited ${run.status}:\n${run.stdout}\n${run.stderr}`);
  lastStderr = run.stderr;
  return run.stdout;
}

/** The JSON after a marker at the start of a line of stdout, as run.ts reads it. */
function marked(stdout: string, marker: string): any {
  const line = stdout.split('\n').find(l => l.startsWith(`${marker} `));
  if (!line) throw new Error(`no ${marker} line in:\n${stdout}`);
  return JSON.parse(line.slice(marker.length + 1));
}

const USER_CELLS = [
  'x = 41',
  'f = lambda: x + 1',
  'import threading',
  'lock = threading.Lock()',
  'gen = (i for i in range(3))'
];

describe('checkpoint key and path', () => {
  it('is readable, stable, and tells apart paths that read alike once sanitised', () => {
    const key = checkpointKey('work/Analysis 1.ipynb');
    expect(key).toMatch(/^work_Analysis_1\.ipynb-[0-9a-f]{12}$/);
    expect(checkpointKey('work/Analysis 1.ipynb')).toBe(key);
    expect(checkpointKey('work/Analysis_1.ipynb')).not.toBe(key);
    expect(checkpointKey('work/Analysis 1.ipynb', '/home/a')).not.toBe(key);
    expect(checkpointKey('../"; rm -rf ~ #.ipynb')).toMatch(/^[A-Za-z0-9_.-]+$/);
    expect(checkpointKey('é')).toMatch(/^notebook-[0-9a-f]{12}$/);
    expect(checkpointPath(key)).toBe(`~/.hpclab/checkpoints/${key}.pkl`);
  });
});

(hasIPython ? describe : describe.skip)('the snippets in IPython', () => {
  it('carries any text into Python as data, never as code', () => {
    const nasty = `'"); __import__('os').system('touch pwned') #\\ \n\u2028 é ${'\u{1F600}'}`;
    const out = execFileSync(
      PYTHON,
      ['-c', `import json, sys; sys.stdout.write(json.dumps(json.loads(${pythonJson(nasty)})))`],
      {
        encoding: 'utf8',
        cwd: home
      }
    );
    expect(JSON.parse(out)).toBe(nasty);
    expect(fs.existsSync(path.join(home, 'pwned'))).toBe(false);
    expect(pythonJson(nasty)).toMatch(/^[\x20-\x7e]+$/);
  });

  (hasDill ? it : it.skip)(
    'saves each variable with dill, names what it cannot save, and a fresh shell gets them back',
    () => {
      const file = checkpointPath('nb-1');
      const saved = marked(ipython(checkpoint(file), { user: USER_CELLS }), MARKERS.checkpoint);
      const real = path.join(home, '.hpclab', 'checkpoints', 'nb-1.pkl');
      expect(saved).toMatchObject({ path: real, pickler: 'dill', written: true, count: USER_CELLS.length + 1 });
      // dill pickles locks (as a new lock) and modules (by reference); a generator it cannot.
      expect(saved.saved.sort()).toEqual(['f', 'lock', 'threading', 'x']);
      expect(saved.skipped).toEqual({ gen: "generator: cannot pickle 'generator' object" });
      expect(saved.bytes).toBe(fs.statSync(real).size);
      expect(fs.statSync(real).mode & 0o777).toBe(0o600);
      expect(fs.statSync(path.dirname(real)).mode & 0o777).toBe(0o700);
      expect(fs.existsSync(`${real}.tmp`)).toBe(false);

      const out = ipython(restore(file), {
        after: [
          'print("CHECK", x == 41, f(), type(lock).__name__, threading.current_thread().name)',
          'print("LEFT", sorted(k for k in get_ipython().user_ns if k.startswith("_hpclab") or k in ("json", "os", "pickle", "dill")))'
        ]
      });
      expect(marked(out, MARKERS.restore)).toEqual({ restored: ['x', 'f', 'threading', 'lock'], failed: {} });
      expect(out).toContain('CHECK True 42 lock MainThread');
      expect(out).toContain('LEFT []');
    }
  );

  it('without dill, saves with pickle, says so, and names each value pickle cannot take', () => {
    const file = checkpointPath('nb-2');
    const saved = marked(ipython(checkpoint(file), { user: USER_CELLS, hideDill: true }), MARKERS.checkpoint);
    expect(saved.pickler).toBe('pickle');
    expect(lastStderr).toContain('dill is not installed in this environment: saving with pickle');
    expect(saved.saved).toEqual(['x']);
    expect(Object.keys(saved.skipped).sort()).toEqual(['f', 'gen', 'lock', 'threading']);
    expect(saved.skipped.lock).toBe("lock: cannot pickle '_thread.lock' object");
    const restored = marked(ipython(restore(file), { hideDill: true, after: ['assert x == 41'] }), MARKERS.restore);
    expect(restored).toEqual({ restored: ['x'], failed: {} });
  });

  it('puts back what it can and names what it cannot: a value whose module is gone', () => {
    const file = checkpointPath('nb-3');
    const pkg = path.join(home, 'pkg');
    fs.mkdirSync(pkg);
    fs.writeFileSync(path.join(pkg, 'gone_soon.py'), 'class Thing:\n    pass\n');
    const user = [
      'import sys',
      `sys.path.insert(0, ${JSON.stringify(pkg)})`,
      'import gone_soon',
      'thing = gone_soon.Thing()',
      'y = 2'
    ];
    ipython(checkpoint(file), { user, hideDill: true });
    fs.rmSync(pkg, { recursive: true });
    const restored = marked(ipython(restore(file), { hideDill: true }), MARKERS.restore);
    expect(restored.restored).toEqual(['y']);
    expect(restored.failed).toEqual({ thing: "ModuleNotFoundError: No module named 'gone_soon'" });
  });

  it('says when there is nothing to restore, and an empty kernel never replaces a checkpoint', () => {
    const file = checkpointPath('nb-4');
    expect(marked(ipython(restore(file)), MARKERS.restore)).toEqual({ missing: true });
    ipython(checkpoint(file), { user: ['x = 1'], hideDill: true });
    const empty = marked(ipython(checkpoint(file), { hideDill: true }), MARKERS.checkpoint);
    expect(empty).toMatchObject({ saved: [], skipped: {}, written: false, bytes: 0 });
    expect(marked(ipython(restore(file), { hideDill: true }), MARKERS.restore)).toEqual({
      restored: ['x'],
      failed: {}
    });
  });

  it('probes the allocation the kernel runs in, binding no name', () => {
    const out = ipython(probe(), {
      user: ['a = 1'],
      after: ['print("LEFT", [k for k in ("json", "os") if k in get_ipython().user_ns])'],
      env: { SLURM_JOB_ID: '4242' }
    });
    expect(marked(out, MARKERS.probe)).toEqual({ job: '4242', count: 2 });
    expect(out).toContain('LEFT []');
  });
});
