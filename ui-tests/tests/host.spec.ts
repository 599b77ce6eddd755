// The test host works end to end: JupyterLab starts, our prebuilt extension loads into it the
// way it would in a user's Lab, and a notebook runs Python on a real kernel.
import { expect, test } from './fixtures';

test('Lab starts, loads the prebuilt hpclab extension, runs a notebook', async ({ page, lab }, testInfo) => {
  const pageErrors: string[] = [];
  page.on('pageerror', error => pageErrors.push(String(error)));
  const consoleProblems: string[] = [];
  page.on('console', message => {
    if (['error', 'warning'].includes(message.type())) consoleProblems.push(message.text());
  });

  await page.goto(lab.url('lab'));
  await expect(page.locator('.jp-Launcher')).toBeVisible({ timeout: 60_000 });
  // Set by our extension once the app has started: it was found under labextensions_path,
  // its remoteEntry loaded, and its plugin activated against the host's shared modules.
  await expect(page.locator('body')).toHaveAttribute('data-hpclab', 'loaded');

  await page.evaluate(() =>
    (window as any).jupyterapp.commands.execute('notebook:create-new', { kernelName: 'python3' })
  );
  // A kernel is ready when the notebook's session context says so, not when some icon shows.
  await page.waitForFunction(
    () => {
      const widget = (window as any).jupyterapp.shell.currentWidget;
      const kernel = widget?.sessionContext?.session?.kernel;
      return kernel?.connectionStatus === 'connected' && kernel?.status === 'idle';
    },
    null,
    { timeout: 60_000, polling: 100 }
  );

  const notebook = page.locator('.jp-NotebookPanel:not(.lm-mod-hidden)');
  await notebook.locator('.jp-Cell .cm-content').first().click();
  await page.keyboard.type('print(6*7)');
  await page.keyboard.press('Shift+Enter');
  await expect(notebook.locator('.jp-OutputArea-output').first()).toHaveText('42');

  await page.screenshot({ path: testInfo.outputPath('lab-notebook.png') });
  await testInfo.attach('console errors and warnings', {
    body: consoleProblems.join('\n') || '(none)'
  });
  expect(pageErrors).toEqual([]);
  // A plugin whose required token is missing (a core package not shared by the host, a core
  // plugin left out) fails to activate and only says so in the console.
  expect(consoleProblems.filter(text => /failed to activate/i.test(text))).toEqual([]);
});
