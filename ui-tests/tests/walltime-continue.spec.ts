// Walltime without loss on a remote kernel: the testbed's `ckpt` profile (4 minutes, checkpoint:
// true) gets its first walltime warning as soon as its allocation runs; the notebook's variables
// are saved on the cluster, "Continue in a new session" stops the job, restarts the kernel in a new
// allocation and puts them back.
//
// The testbed is shared with other work, so unlike hpclab-fixtures (which cancels every job of the
// test user) this spec runs its own `hpclab lab` and cancels only the jobs its kernel ran in.
import { test as base, type Page } from '@playwright/test';
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkpointKey, checkpointPath } from '../../src/checkpoint/code';
import { isolatedJupyterEnv } from './fixtures';
import { expect, testbed, type Testbed } from './hpclab-fixtures';

const repo = path.resolve(__dirname, '..', '..');
const hpclabBin = path.join(repo, 'dist', 'server', 'cli', 'main.js');
const hostScript = path.join(repo, 'lab', 'server', 'hpclab_lab.py');
const KERNEL = 'hpclab-testbed-ckpt';
// `lock`: dill pickles locks (as a new lock), so it is saved; a generator no pickler can save.
const FIRST_CELL =
  "x = 41; import threading; lock = threading.Lock(); gen = (i for i in range(3)); import os; print('JOB', os.environ['SLURM_JOB_ID'])";

interface OwnLab {
  url: string;
  testbed: Testbed;
  /** Job ids this test's kernels ran in: the only ones it cancels. */
  jobs: Set<string>;
}

/** `hpclab lab` with throw-away homes, as hpclab-fixtures starts it, cancelling only `jobs` at the end. */
const test = base.extend<{ lab: OwnLab }>({
  lab: [
    async ({}, use, testInfo) => {
      const tb = testbed();
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hpclab-ui-ckpt-'));
      const names = [
        'root',
        'config',
        'data',
        'runtime',
        'ipython',
        'settings',
        'workspaces',
        'state',
        'labext'
      ] as const;
      const dirs = Object.fromEntries(names.map(d => [d, path.join(tmp, d)])) as Record<(typeof names)[number], string>;
      for (const d of Object.values(dirs)) fs.mkdirSync(d);
      fs.symlinkSync(path.join(repo, 'hpclab', 'labextension'), path.join(dirs.labext, 'hpclab'));
      const server = [
        '/usr/bin/python3',
        hostScript,
        '--allow-root',
        `--ServerApp.root_dir=${dirs.root}`,
        '--expose-app-in-browser',
        `--user-settings-dir=${dirs.settings}`,
        `--workspaces-dir=${dirs.workspaces}`,
        `--labextensions-path=${dirs.labext}`
      ];
      const log = testInfo.outputPath('hpclab-lab.log');
      const child: ChildProcess = spawn(
        process.execPath,
        [hpclabBin, 'lab', '--no-browser', '--config', tb.config, '--server-command', JSON.stringify(server)],
        {
          detached: true,
          stdio: ['ignore', 'pipe', 'pipe'],
          env: { ...process.env, HOME: tmp, XDG_STATE_HOME: dirs.state, ...isolatedJupyterEnv(dirs) }
        }
      );
      child.stderr!.on('data', (d: Buffer) => fs.appendFileSync(log, d));
      const jobs = new Set<string>();
      try {
        const url = await new Promise<string>((resolve, reject) => {
          let out = '';
          const timer = setTimeout(() => reject(new Error(`hpclab lab printed no URL in 90 s; see ${log}`)), 90_000);
          child.stdout!.on('data', (d: Buffer) => {
            out += d.toString();
            const m = /Jupyter at: (\S+)/.exec(out);
            if (m) {
              clearTimeout(timer);
              resolve(m[1]);
            }
          });
          child.once('exit', code => reject(new Error(`hpclab lab exited (${code}); see ${log}`)));
        });
        await use({ url, testbed: tb, jobs });
      } finally {
        const exited = new Promise(r => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise(r => setTimeout(r, 8000))]);
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // The group has already exited: nothing left to stop.
        }
        if (jobs.size > 0) {
          try {
            execFileSync('scancel', [...jobs]);
          } catch (err) {
            // Jobs that already ended make scancel complain; the ones still there are cancelled.
            console.log(`scancel ${[...jobs].join(' ')}: ${(err as Error).message.split('\n')[0]}`);
          }
        }
        fs.rmSync(tmp, { recursive: true, force: true });
      }
    },
    { timeout: 120_000 }
  ]
});

/** The output text of the notebook's cell `index`, once it has some. */
async function cellOutput(page: Page, index: number, pattern: RegExp, timeout: number): Promise<string> {
  const output = page
    .locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell')
    .nth(index)
    .locator('.jp-OutputArea-output');
  await expect(output.first()).toContainText(pattern, { timeout });
  return (await output.allInnerTexts()).join('\n');
}

/** Puts `source` in cell `index` (added when missing) and runs it, as Shift+Enter would. */
async function runCell(page: Page, index: number, source: string): Promise<void> {
  await page.evaluate(
    async ({ index, source }) => {
      const app = (window as any).jupyterapp;
      const panel = app.shell.currentWidget;
      const shared = panel.content.model.sharedModel;
      if (shared.cells.length <= index) shared.insertCell(index, { cell_type: 'code', source });
      else shared.cells[index].setSource(source);
      panel.content.activeCellIndex = index;
      await app.commands.execute('notebook:run-cell');
    },
    { index, source }
  );
}

/** Deletes the current notebook's checkpoint on the cluster, through its kernel. */
async function removeCheckpoint(page: Page): Promise<void> {
  const { notebook, root } = await page.evaluate(() => ({
    notebook: (window as any).jupyterapp.shell.currentWidget.context.path as string,
    root: (JSON.parse(document.getElementById('jupyter-config-data')!.textContent!).serverRoot ?? '') as string
  }));
  const file = checkpointPath(checkpointKey(notebook, root));
  // The path reaches Python as JSON data, never as code.
  const code = `import os, json\nos.remove(os.path.expanduser(json.loads(${JSON.stringify(JSON.stringify(file))})))`;
  const status = await page.evaluate(async source => {
    const kernel = (window as any).jupyterapp.shell.currentWidget.sessionContext.session.kernel;
    const reply = kernel.requestExecute({ code: source, store_history: false }).done;
    const late = new Promise(resolve => setTimeout(resolve, 30_000, { content: { status: 'no answer in 30 s' } }));
    return ((await Promise.race([reply, late])) as any).content.status as string;
  }, code);
  expect(status, `removing ${file}`).toBe('ok');
}

const toast = (page: Page, text: RegExp) => page.locator('.jp-toast-message', { hasText: text });

test('a ckpt notebook saves its variables at the walltime warning and continues in a new job with them', async ({
  page,
  lab
}) => {
  test.setTimeout(8 * 60_000);
  const logged: string[] = [];
  page.on('console', msg => {
    if (msg.text().startsWith('hpclab:')) logged.push(msg.text());
  });
  try {
    await page.goto(`${lab.url}&reset`);
    await expect(page.locator('.jp-Launcher')).toBeVisible({ timeout: 60_000 });
    await expect(page.locator('body')).toHaveAttribute('data-hpclab', 'loaded');
    await page.locator('.jp-LauncherCard', { hasText: 'Notebook · ckpt' }).click();
    await page.waitForFunction(
      name => {
        const kernel = (window as any).jupyterapp.shell.currentWidget?.sessionContext?.session?.kernel;
        return kernel?.name === name && kernel.connectionStatus === 'connected' && kernel.status === 'idle';
      },
      KERNEL,
      { timeout: 180_000, polling: 200 }
    );

    await runCell(page, 0, FIRST_CELL);
    const oldJob = /JOB (\d+)/.exec(await cellOutput(page, 0, /JOB \d+/, 60_000))![1];
    lab.jobs.add(oldJob);

    // The allocation has under 10 minutes: its first warning came as it started, and the kernel
    // saved what the cell made (now, or after the cell if the warning found it empty).
    const saved = toast(page, /Saved \d+ variables of .+ to continue later; not saved: gen/);
    await expect(saved).toBeVisible({ timeout: 120_000 });
    const savedText = (await saved.innerText()).trim();
    expect(savedText).toMatch(
      /^Saved 4 variables of Untitled\d*\.ipynb to continue later; not saved: gen \(generator: cannot pickle 'generator' object\)$/
    );
    const note = page.locator('.Toastify__toast', { has: saved });
    const clicked = Date.now();
    await note.locator('button', { hasText: 'Continue in a new session' }).click();

    const continued = toast(page, /Continued in job \d+/);
    await expect(continued).toBeVisible({ timeout: 180_000 });
    const continuedAfterMs = Date.now() - clicked;
    const continuedText = (await continued.innerText()).trim();
    const newJob = /Continued in job (\d+)/.exec(continuedText)![1];
    lab.jobs.add(newJob);
    expect(newJob).not.toBe(oldJob);
    expect(continuedText).toMatch(
      /^Continued in job \d+: restored (x|threading|lock|os)(, (x|threading|lock|os)){3}\.$/
    );

    await runCell(page, 1, "print(x + 1, type(lock).__name__, os.environ['SLURM_JOB_ID'])");
    const after = await cellOutput(page, 1, /42/, 60_000);
    expect(after.trim()).toBe(`42 lock ${newJob}`);

    // The new allocation had its own first warning: it saves the restored variables, after the
    // restore, in a notification of its own.
    await expect(toast(page, /^Saved 4 variables of .+ to continue later\.$/)).toBeVisible({ timeout: 60_000 });
    const timing = logged.find(l => l.includes('from "Continue in a new session" to continued'));
    expect(timing).toBeDefined();
    console.log(`saved: ${savedText}`);
    console.log(`continued: ${continuedText} (${continuedAfterMs} ms after the click, as the page saw it)`);
    console.log(`console: ${timing}`);

    // Continued means kept: the kernel still has its variables, in the new job, once the old
    // job's leftovers are long gone (the companion waits 60 s for a restarted kernel's launcher).
    await page.waitForTimeout(Math.max(0, clicked + continuedAfterMs + 75_000 - Date.now()));
    await runCell(page, 2, "print(x + 1, os.environ['SLURM_JOB_ID'])");
    expect((await cellOutput(page, 2, /\S/, 60_000)).trim(), 'the variables 75 s after continuing').toBe(
      `42 ${newJob}`
    );
    await expect(page.locator('.jp-Dialog', { hasText: 'appears to have died' })).toHaveCount(0);
  } finally {
    // This test's checkpoint goes, so the shared test user's home keeps nothing of it.
    await removeCheckpoint(page).catch((err: unknown) =>
      console.log(`removing the checkpoint: ${(err as Error).message.split('\n')[0]}`)
    );
    // Shut the kernel down through Jupyter: its launcher releases its allocation; the fixture then
    // cancels whatever of this test's jobs is left.
    await page
      .evaluate(() => (window as any).jupyterapp?.serviceManager.sessions.shutdownAll())
      .catch((err: unknown) => console.log(`shutting the kernels down: ${(err as Error).message}`));
  }
});
