// The README's main command, as a newcomer runs it: `npm run demo` (scripts/demo) with no cluster
// configured, on a machine whose testbed is up. What they see first, what they can do from there
// without editing anything, and that Ctrl-C ends everything the demo started on the cluster.
import { expect, test, type Page } from '@playwright/test';
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isolatedJupyterEnv } from './fixtures';
import { testbed } from './hpclab-fixtures';

const repo = path.resolve(__dirname, '..', '..');
const hpclabBin = path.join(repo, 'dist', 'server', 'cli', 'main.js');

// One home for the whole file, as one newcomer's machine: the second run finds what the first left.
let home: string;
let env: NodeJS.ProcessEnv;

test.beforeAll(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'hpclab-ui-demo-'));
  const dirs = Object.fromEntries(
    ['config', 'data', 'runtime', 'ipython', 'state'].map(d => [d, path.join(home, '.jupyter-test', d)])
  );
  for (const d of Object.values(dirs)) fs.mkdirSync(d, { recursive: true });
  env = { ...process.env, HOME: home, XDG_STATE_HOME: dirs.state, ...isolatedJupyterEnv(dirs) };
  // No cluster configured: nothing points hpclab anywhere.
  for (const name of [
    'HPCLAB_CONFIG',
    'XDG_CONFIG_HOME',
    'HPCLAB_CLUSTER',
    'HPCLAB_PROFILE',
    'DISPLAY',
    'WAYLAND_DISPLAY'
  ])
    delete env[name];
});

test.afterAll(() => {
  // Whatever failed, the next spec needs the testbed's nodes free.
  execFileSync('scancel', ['-u', testbed().user]);
});

interface Demo {
  child: ChildProcess;
  url: string;
  output(): string;
  exited: Promise<number | null>;
}

async function startDemo(log: string): Promise<Demo> {
  const child = spawn('bash', [path.join(repo, 'scripts', 'demo')], {
    cwd: repo,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe']
  });
  let out = '';
  const append = (d: Buffer) => {
    out += d.toString();
    fs.appendFileSync(log, d);
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  const exited = new Promise<number | null>(resolve => child.once('exit', code => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the demo printed no URL in 180 s:\n${out}`)), 180_000);
    child.stdout!.on('data', () => {
      const m = /Jupyter at: (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    void exited.then(code => reject(new Error(`the demo exited (${code}) before printing a URL:\n${out}`)));
  });
  expect(out.match(/Jupyter at:/g)).toHaveLength(1);
  return { child, url, output: () => out, exited };
}

/** Ctrl-C in the demo's terminal: SIGINT to its process group, as a terminal sends it. */
async function ctrlC(demo: Demo): Promise<number | null> {
  process.kill(-demo.child.pid!, 'SIGINT');
  const timeout = new Promise<'timeout'>(resolve => setTimeout(() => resolve('timeout'), 60_000));
  const code = await Promise.race([demo.exited, timeout]);
  if (code === 'timeout') {
    process.kill(-demo.child.pid!, 'SIGKILL');
    throw new Error(`the demo did not stop within 60 s of Ctrl-C:\n${demo.output()}`);
  }
  return code;
}

function jobsOfTestUser(): string[] {
  return execFileSync('squeue', ['-h', '-u', testbed().user, '-o', '%i %j %T'], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean);
}

const sidebar = (page: Page) => page.locator('#hpclab-sidebar');
const hpcTile = (page: Page, text: string) => page.locator('.jp-LauncherCard', { hasText: text });

test('the demo opens JupyterLab on the HPC sidebar; a GPU notebook and JupyterLab run on the node; Ctrl-C ends every job', async ({
  page,
  context
}, testInfo) => {
  test.setTimeout(480_000);
  const tb = testbed();
  const demo = await startDemo(testInfo.outputPath('demo-1.log'));
  try {
    await test.step('first screen: JupyterLab, the HPC sidebar with the testbed and its fake GPUs, the HPC tiles', async () => {
      const t0 = Date.now();
      await page.goto(demo.url);
      await expect(page.locator('.jp-Launcher')).toBeVisible({ timeout: 60_000 });
      // Open without a click: the demo's JupyterLab starts on the sidebar.
      await expect(sidebar(page)).toBeVisible();
      const cluster = sidebar(page).locator('.jp-hpclab-cluster[data-cluster="testbed"]');
      const gpus = cluster.locator('.jp-hpclab-partition[data-partition="gpu"] .jp-hpclab-gpus[data-type="fake"]');
      await expect(gpus).toHaveAttribute('data-free', '2');
      await expect(gpus).toHaveAttribute('data-total', '2');
      await expect(cluster.locator('.jp-hpclab-partition[data-partition="debug"]')).toBeVisible();
      await expect(hpcTile(page, 'Notebook · gpu')).toHaveCount(1);
      await expect(hpcTile(page, 'JupyterLab on a node')).toHaveCount(1);
      console.log(`ui: demo URL → first screen with the cluster in the sidebar: ${Date.now() - t0} ms`);
      await page.screenshot({ path: testInfo.outputPath('demo-first-screen.png') });
    });

    await test.step('the GPU tile opens a notebook whose kernel runs in a job on the compute node', async () => {
      await hpcTile(page, 'Notebook · gpu').click({ timeout: 30_000 });
      const notebook = page.locator('.jp-NotebookPanel:not(.lm-mod-hidden)');
      await expect(notebook.locator('.jp-Toolbar-kernelName')).toContainText(/GPU.*testbed/, { timeout: 120_000 });
      await notebook.locator('.jp-Cell .cm-content').first().click();
      await page.keyboard.type(
        "import os, socket; print(socket.gethostname(), os.environ['SLURM_JOB_ID'], os.environ.get('CUDA_VISIBLE_DEVICES'))"
      );
      await page.keyboard.press('Shift+Enter');
      const output = notebook.locator('.jp-OutputArea-output').first();
      await expect(output).toHaveText(new RegExp(`^${tb.node} \\d+ \\d+\\s*$`), { timeout: 120_000 });
      const jobId = (await output.textContent())!.trim().split(' ')[1];
      expect(jobsOfTestUser().map(line => line.split(' ')[0])).toContain(jobId);
      await page.screenshot({ path: testInfo.outputPath('demo-gpu-notebook.png') });
    });

    await test.step('"JupyterLab on a node" opens JupyterLab served from the node through the proxy', async () => {
      // A new launcher (the "+" of the notebook's tab bar), as the notebook now covers the first.
      await page.locator('.lm-TabBar-addButton:not(.lm-mod-hidden)').first().click({ timeout: 30_000 });
      await hpcTile(page, 'JupyterLab on a node').click({ timeout: 30_000 });
      await expect(sidebar(page)).toBeVisible();
      const row = sidebar(page).locator('.jp-hpclab-session').first();
      await expect(row).toHaveAttribute('data-state', 'running', { timeout: 120_000 });
      const id = await row.getAttribute('data-session');
      const [tab] = await Promise.all([context.waitForEvent('page'), row.locator('[data-action="open"]').click()]);
      await expect(tab.locator('.jp-Launcher')).toBeVisible({ timeout: 90_000 });
      expect(new URL(tab.url()).pathname).toMatch(new RegExp(`^/hpclab/node/${id}/lab`));
      // It is the node's JupyterLab: its server runs on the compute host, in the session's job.
      const info = await tab.evaluate(async sid => (await fetch(`/hpclab/node/${sid}/api/status`)).json(), id);
      expect(info).toHaveProperty('started');
      await tab.screenshot({ path: testInfo.outputPath('jupyterlab-on-a-node.png') });
      await tab.close();
    });

    await test.step("a second terminal's `hpclab status` sees the same cluster", async () => {
      const status = JSON.parse(
        execFileSync(process.execPath, [hpclabBin, 'status', '--json'], { env, encoding: 'utf8' })
      );
      expect(status.cluster).toBe('testbed');
      expect(status.partitions.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['debug', 'gpu']));
    });

    await test.step('Ctrl-C stops JupyterLab and ends every job the demo started', async () => {
      expect(jobsOfTestUser().length).toBeGreaterThanOrEqual(2);
      expect(await ctrlC(demo)).toBe(0);
      await expect.poll(() => jobsOfTestUser(), { timeout: 30_000 }).toEqual([]);
    });
  } finally {
    if (demo.child.exitCode === null && demo.child.signalCode === null) process.kill(-demo.child.pid!, 'SIGKILL');
  }
});

test('the demo runs again in the same home, restores its layout, and stops again', async ({ page }, testInfo) => {
  test.setTimeout(240_000);
  const demo = await startDemo(testInfo.outputPath('demo-2.log'));
  try {
    await page.goto(demo.url);
    // JupyterLab restores the first run's layout (the GPU notebook, whose kernel it starts again),
    // with the sidebar open on the cluster.
    await expect(sidebar(page).locator('.jp-hpclab-cluster[data-cluster="testbed"]')).toBeVisible({ timeout: 60_000 });
    await expect(page.locator('.jp-NotebookPanel')).toBeVisible();
    expect(await ctrlC(demo)).toBe(0);
    await expect.poll(() => jobsOfTestUser(), { timeout: 30_000 }).toEqual([]);
  } finally {
    if (demo.child.exitCode === null && demo.child.signalCode === null) process.kill(-demo.child.pid!, 'SIGKILL');
  }
});
