// The hpclab extension as a researcher uses it: `hpclab lab` in front of JupyterLab, our prebuilt
// extension loaded like any other, a real Slurm testbed behind the companion.
import { execFileSync } from 'node:child_process';
import type { Page } from '@playwright/test';
import { expect, test, type HpclabLab } from './hpclab-fixtures';

async function openLab(page: Page, hpclab: HpclabLab): Promise<void> {
  // ?reset: a fresh workspace, whatever the tests before left open (the server is shared).
  await page.goto(`${hpclab.url}&reset`);
  await expect(page.locator('.jp-Launcher')).toBeVisible({ timeout: 60_000 });
  await expect(page.locator('body')).toHaveAttribute('data-hpclab', 'loaded');
  await page.evaluate(() => (window as any).jupyterapp.shell.activateById('hpclab-sidebar'));
  await expect(page.locator('#hpclab-sidebar')).toBeVisible();
}

const sidebar = (page: Page) => page.locator('#hpclab-sidebar');

async function chooseProfile(page: Page, profile: string): Promise<void> {
  await sidebar(page).locator('[data-field="profile"] select').selectOption(profile);
  // The companion checks the form as it changes; the preview fills once it is valid.
  await expect(sidebar(page).locator('.jp-hpclab-preview')).toContainText('#!/bin/bash');
}

test('the sidebar shows the testbed partitions and 2 free GPUs of type fake', async ({ page, hpclab }) => {
  const t0 = Date.now();
  await openLab(page, hpclab);
  const testbedCluster = sidebar(page).locator('.jp-hpclab-cluster[data-cluster="testbed"]');
  const gpus = testbedCluster.locator('.jp-hpclab-partition[data-partition="gpu"] .jp-hpclab-gpus[data-type="fake"]');
  await expect(gpus).toHaveAttribute('data-free', '2');
  await expect(gpus).toHaveAttribute('data-total', '2');
  await expect(testbedCluster.locator('.jp-hpclab-partition[data-partition="debug"]')).toBeVisible();
  console.log(`ui: page load → cluster state in the sidebar: ${Date.now() - t0} ms`);
});

test('an invalid form value shows its field error and submits nothing', async ({ page, hpclab }) => {
  await openLab(page, hpclab);
  await chooseProfile(page, 'cpu');
  const time = sidebar(page).locator('[data-field="time"] input');
  await time.fill('soon');
  await expect(sidebar(page).locator('[data-field="time"] .jp-hpclab-field-error')).toContainText('expected');
  await expect(time).toHaveAttribute('aria-invalid', 'true');
  await sidebar(page).locator('.jp-hpclab-form button[type="submit"]').click({ force: true });
  await page.waitForTimeout(1500);
  expect(hpclab.jobs()).toEqual([]);
  await time.fill('00:30:00');
  await expect(sidebar(page).locator('[data-field="time"] .jp-hpclab-field-error')).toHaveText('');
});

test("a session requested from the form goes pending → running, and Open shows the node's JupyterLab through the proxy", async ({
  page,
  hpclab,
  context
}) => {
  await openLab(page, hpclab);
  await chooseProfile(page, 'cpu');
  await sidebar(page).locator('.jp-hpclab-form button[type="submit"]').click();
  const row = sidebar(page).locator('.jp-hpclab-session').first();
  await expect(row).toHaveAttribute('data-state', /pending|starting|running/);
  await expect(row).toHaveAttribute('data-state', 'running', { timeout: 90_000 });
  const id = await row.getAttribute('data-session');
  expect(hpclab.jobs()).toHaveLength(1);
  const [tab] = await Promise.all([context.waitForEvent('page'), row.locator('[data-action="open"]').click()]);
  // The node runs JupyterLab itself (the testbed's hpclab JupyterLab), not a bare server page.
  await expect(tab.locator('.jp-Launcher')).toBeVisible({ timeout: 90_000 });
  expect(tab.url()).toContain(`/hpclab/node/${id}/`);
  const status = await tab.evaluate(async sid => (await fetch(`/hpclab/node/${sid}/api/status`)).json(), id);
  expect(status).toHaveProperty('started');
});

test('cancelling from the Jobs table removes the job', async ({ page, hpclab }) => {
  const tb = hpclab.testbed as unknown as { user: string; loginNetns: string | null };
  const sbatch = [
    'runuser',
    '-u',
    tb.user,
    '--',
    'sbatch',
    '--parsable',
    '-o',
    '/dev/null',
    '--job-name',
    'ui cancel',
    '--wrap',
    'sleep 300'
  ];
  const argv = tb.loginNetns ? ['nsenter', `--net=/run/netns/${tb.loginNetns}`, ...sbatch] : sbatch;
  const jobId = execFileSync(argv[0], argv.slice(1), { encoding: 'utf8', cwd: '/' }).trim();
  await openLab(page, hpclab);
  const row = sidebar(page).locator(`tr[data-job="${jobId}"]`);
  await expect(row).toBeVisible({ timeout: 30_000 });
  await row.locator('[data-action="cancel"]').click();
  await page.locator('.jp-Dialog').getByRole('button', { name: 'Cancel', exact: true }).click();
  await expect.poll(() => hpclab.jobs().includes(jobId), { timeout: 30_000 }).toBe(false);
  await expect(row).toHaveCount(0, { timeout: 30_000 });
});

test('the gpu launcher tile opens a notebook whose kernel runs in a job on the node', async ({ page, hpclab }) => {
  await openLab(page, hpclab);
  await page.locator('.jp-LauncherCard', { hasText: 'Notebook · gpu' }).click();
  await page.waitForFunction(
    () => {
      const kernel = (window as any).jupyterapp.shell.currentWidget?.sessionContext?.session?.kernel;
      return (
        kernel?.name === 'hpclab-testbed-gpu' && kernel.connectionStatus === 'connected' && kernel.status === 'idle'
      );
    },
    null,
    { timeout: 120_000, polling: 200 }
  );
  // The remote kernelspec is in the kernel picker, with its logo.
  const spec = await page.evaluate(
    () => (window as any).jupyterapp.serviceManager.kernelspecs.specs.kernelspecs['hpclab-testbed-gpu']
  );
  expect(spec.display_name).toMatch(/GPU.*testbed/);
  expect(Object.keys(spec.resources)).toEqual(expect.arrayContaining(['logo-64x64', 'logo-svg']));
  const notebook = page.locator('.jp-NotebookPanel:not(.lm-mod-hidden)');
  await notebook.locator('.jp-Cell .cm-content').first().click();
  await page.keyboard.type("import os; print(os.environ['SLURM_JOB_ID'])");
  await page.keyboard.press('Shift+Enter');
  const output = notebook.locator('.jp-OutputArea-output').first();
  await expect(output).toHaveText(/^\d+\s*$/, { timeout: 30_000 });
  expect(hpclab.jobs()).toContain((await output.textContent())!.trim());
  // Shut the kernel down through Jupyter: left running on the shared server, Jupyter would
  // restart it (and its allocation would come back) each time a later test cancels the jobs.
  await page.evaluate(() => (window as any).jupyterapp.shell.currentWidget.sessionContext.session.shutdown());
});

test('a short session shows its countdown in the status bar and a walltime warning notification', async ({
  page,
  hpclab
}) => {
  await openLab(page, hpclab);
  await chooseProfile(page, 'short');
  await sidebar(page).locator('.jp-hpclab-form button[type="submit"]').click();
  await expect(sidebar(page).locator('.jp-hpclab-session').first()).toHaveAttribute('data-state', 'running', {
    timeout: 90_000
  });
  const item = page.locator('.jp-hpclab-timeleft');
  await expect(item).toHaveText(/^HPC short 0:00:[0-5]\d$/);
  await expect(item).toHaveClass(/jp-hpclab-warn/);
  await expect(page.getByText(/reaches its time limit in \d+ min/).first()).toBeVisible({ timeout: 30_000 });
});

test('sidebar screenshots in the light and dark themes', async ({ page, hpclab }, testInfo) => {
  await openLab(page, hpclab);
  await expect(sidebar(page).locator('.jp-hpclab-gpus').first()).toBeVisible();
  await sidebar(page).screenshot({ path: testInfo.outputPath('sidebar-light.png') });
  await page.evaluate(() =>
    (window as any).jupyterapp.commands.execute('apputils:change-theme', { theme: 'JupyterLab Dark' })
  );
  await expect(page.locator('body')).toHaveAttribute('data-jp-theme-light', 'false');
  await sidebar(page).screenshot({ path: testInfo.outputPath('sidebar-dark.png') });
});

test("the sidebar and a session's log tab come back after a reload", async ({ page, hpclab }) => {
  await openLab(page, hpclab);
  await chooseProfile(page, 'cpu');
  // Sessions an earlier test left listed (a kernel allocation still ending) are not this one.
  const before = await sidebar(page)
    .locator('.jp-hpclab-session')
    .evaluateAll(rows => rows.map(r => (r as HTMLElement).dataset.session));
  await sidebar(page).locator('.jp-hpclab-form button[type="submit"]').click();
  const fresh = sidebar(page)
    .locator('.jp-hpclab-session')
    .and(page.locator(before.map(b => `:not([data-session="${b}"])`).join('') || '*'));
  const row = fresh.first();
  await expect(row).toHaveAttribute('data-state', 'running', { timeout: 90_000 });
  const id = (await row.getAttribute('data-session'))!;
  await row.locator('[data-action="log"]').click();
  const log = page.locator(`.jp-hpclab-log[data-hpclab-log="${id}"]`);
  await expect(log).toContainText(/Jupyter/, { timeout: 30_000 });
  // The layout is saved as it changes; a reload (no ?reset) must bring back both.
  await page.waitForTimeout(1500);
  await page.reload();
  await expect(page.locator('body')).toHaveAttribute('data-hpclab', 'loaded', { timeout: 60_000 });
  await expect(sidebar(page)).toBeVisible();
  await expect(sidebar(page).locator(`.jp-hpclab-session[data-session="${id}"]`)).toHaveAttribute(
    'data-state',
    'running'
  );
  await expect(log).toBeVisible();
  await expect(log).toContainText(/Jupyter/, { timeout: 30_000 });
});

test("Submit as batch job: the dialog's preview, a 2-task sweep, and its executed notebook opened in Lab", async ({
  page,
  hpclab
}, testInfo) => {
  await openLab(page, hpclab);
  const cell = (source: string, tags: string[] = []) => ({
    cell_type: 'code',
    execution_count: null,
    metadata: { tags },
    outputs: [],
    source
  });
  await page.evaluate(
    async content => {
      const app = (window as any).jupyterapp;
      await app.serviceManager.contents.save('sweep.ipynb', { type: 'notebook', format: 'json', content });
      await app.commands.execute('docmanager:open', { path: 'sweep.ipynb' });
    },
    {
      cells: [
        cell('lr = 0.5', ['parameters']),
        cell('import os\nprint(f"lr={lr} task={os.environ[\'SLURM_ARRAY_TASK_ID\']}")')
      ],
      metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } },
      nbformat: 4,
      nbformat_minor: 5
    }
  );
  // The file browser offers it too, on any file.
  await page.evaluate(() => (window as any).jupyterapp.shell.activateById('filebrowser'));
  await page.locator('.jp-DirListing-item[title*="sweep.ipynb"]').click({ button: 'right' });
  await expect(page.locator('.lm-Menu-item', { hasText: 'Submit as batch job…' })).toBeVisible();
  await page.keyboard.press('Escape');

  await page.locator('.jp-NotebookPanel-toolbar [data-jp-item-name="hpclab-submit"]').click();
  const dialog = page.locator('.jp-Dialog');
  await dialog.locator('[data-field="profile"] select').selectOption('cpu');
  await expect(dialog.locator('[name="param-lr"]')).toHaveAttribute('placeholder', /^0\.5 \(default\)/);
  await dialog.locator('[name="param-lr"]').fill('0.1,0.01');
  // Checked by the companion as it is typed: a bad value is named, then the preview comes back.
  await dialog.locator('[name="time"]').fill('soon');
  await expect(dialog.locator('[data-field="time"] .jp-hpclab-field-error')).toContainText('expected');
  await dialog.locator('[name="time"]').fill('00:10:00');
  await expect(dialog.locator('.jp-hpclab-submit-summary')).toContainText('An array of 2 tasks on testbed');
  await expect(dialog.locator('.jp-hpclab-preview')).toContainText('--array=0-1');
  await expect(dialog.locator('.jp-hpclab-preview')).toContainText('--time=00:10:00');
  await dialog.locator('.jp-Dialog-content').screenshot({ path: testInfo.outputPath('submit-dialog.png') });
  expect(hpclab.jobs()).toEqual([]);
  await dialog.locator('.jp-mod-accept').click();
  await expect(dialog).toBeHidden({ timeout: 60_000 });
  await expect(
    page.locator('.jp-toast-message', { hasText: /Submitted sweep\.ipynb as array job \d+ \(2 tasks\)/ })
  ).toBeVisible();

  // The run in the sidebar, its tasks each with a state, until both have finished.
  await page.evaluate(() => (window as any).jupyterapp.shell.activateById('hpclab-sidebar'));
  const run = sidebar(page).locator('.jp-hpclab-run', { hasText: 'sweep.ipynb' }).first();
  await expect(run).toBeVisible({ timeout: 30_000 });
  await expect
    .poll(
      async () => {
        await page.evaluate(() => (window as any).jupyterapp.commands.execute('hpclab:refresh'));
        const states = await run
          .locator('.jp-hpclab-task')
          .evaluateAll(els => els.map(e => (e as HTMLElement).dataset.state));
        const ended = await run.locator('.jp-hpclab-run-ended').count();
        return ended > 0 || (states.length === 2 && states.every(s => s === 'COMPLETED'));
      },
      { timeout: 120_000, intervals: [1000] }
    )
    .toBe(true);
  await run.locator('[data-action="outputs"]').click();
  await run.locator('[data-output="out/sweep_1.ipynb"]').click();
  const opened = page.locator('.jp-NotebookPanel:not(.lm-mod-hidden)');
  await expect(opened.locator('.jp-OutputArea-output').first()).toHaveText(/lr=0\.01 task=1/, { timeout: 30_000 });
  const path = await page.evaluate(() => (window as any).jupyterapp.shell.currentWidget.context.path);
  expect(path).toMatch(/^hpclab-runs\/sweep-[\w-]+\/out\/sweep_1\.ipynb$/);
});
