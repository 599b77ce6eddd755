// JupyterLab's debugger on a remote hpclab kernel: the kernel runs as a Slurm job step on the
// testbed's node, its channels reach Lab only through hpclab's tunnel, and the debugger needs all
// of them: debug_request/debug_reply on control, debug_event (stopped, continued) on iopub, while
// the cell being debugged holds shell busy.
import type { Page } from '@playwright/test';
import { expect, test, type HpclabLab } from './hpclab-fixtures';

const KERNEL = 'hpclab-testbed-gpu';
// Line 2 gets the breakpoint: stopped there, x is 41 and y does not exist yet.
const SOURCE = 'x = 41\ny = x + 1\nprint(y)';

/** A fresh Lab with a notebook whose kernel is the gpu profile's remote kernel, idle. */
async function openRemoteNotebook(page: Page, hpclab: HpclabLab): Promise<void> {
  await page.goto(`${hpclab.url}&reset`);
  await expect(page.locator('.jp-Launcher')).toBeVisible({ timeout: 60_000 });
  await expect(page.locator('body')).toHaveAttribute('data-hpclab', 'loaded');
  await page.locator('.jp-LauncherCard', { hasText: 'Notebook · gpu' }).click();
  await page.waitForFunction(
    name => {
      const kernel = (window as any).jupyterapp.shell.currentWidget?.sessionContext?.session?.kernel;
      return kernel?.name === name && kernel.connectionStatus === 'connected' && kernel.status === 'idle';
    },
    KERNEL,
    { timeout: 120_000, polling: 200 }
  );
}

/** Puts SOURCE in the notebook's first cell (through the model: no editor auto-closing). */
async function fillFirstCell(page: Page): Promise<void> {
  await page.evaluate(source => {
    const panel = (window as any).jupyterapp.shell.currentWidget;
    panel.content.activeCellIndex = 0;
    panel.content.widgets[0].model.sharedModel.setSource(source);
  }, SOURCE);
}

// Every kernel this test started, shut down through Jupyter (which ends its job step) before the
// fixture cancels whatever is left of the allocation.
test.afterEach(async ({ page }) => {
  await page.evaluate(() => (window as any).jupyterapp?.serviceManager.sessions.shutdownAll()).catch(() => undefined);
});

test('the remote kernel answers the debug protocol through the tunnel: breakpoint, stack, variables, continue', async ({
  page,
  hpclab
}) => {
  await openRemoteNotebook(page, hpclab);
  // What JupyterLab's debugger sends (packages/debugger: session.ts, service.ts), sent here from
  // the page's own kernel connection so that a failure names the step, whatever the UI shows.
  const result = await page.evaluate(async source => {
    const kernel = (window as any).jupyterapp.shell.currentWidget.sessionContext.session.kernel;
    let seq = 1;
    const step = (what: string, p: Promise<any>, ms = 30_000): Promise<any> =>
      Promise.race([
        p,
        new Promise((_, reject) => setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms))
      ]);
    const request = async (command: string, args: Record<string, unknown> = {}): Promise<any> => {
      const future = kernel.requestDebug({ type: 'request', seq: seq++, command, arguments: args });
      const reply = await step(`debug_request ${command}`, future.done);
      if (!reply.content.success) throw new Error(`${command}: ${reply.content.message}`);
      return reply.content.body;
    };
    const events: any[] = [];
    const waiters: { event: string; resolve: (e: any) => void }[] = [];
    kernel.iopubMessage.connect((_: unknown, msg: any) => {
      if (msg.header.msg_type !== 'debug_event') return;
      events.push(msg.content);
      for (const w of waiters.filter(w => w.event === msg.content.event)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(msg.content);
      }
    });
    const nextEvent = (event: string) =>
      step(`debug_event ${event}`, new Promise(resolve => waiters.push({ event, resolve })));

    // JupyterLab 4 offers its debugger for a kernel whose kernelspec says `metadata.debugger`
    // (ipykernel's kernel_info_reply need not carry the field; Debian's 6.17 does not).
    const spec = (window as any).jupyterapp.serviceManager.kernelspecs.specs.kernelspecs[kernel.name];
    await request('initialize', {
      clientID: 'hpclab-ui-tests',
      clientName: 'hpclab ui-tests',
      adapterID: kernel.name,
      pathFormat: 'path',
      linesStartAt1: true,
      columnsStartAt1: true,
      supportsVariableType: true,
      supportsVariablePaging: true,
      locale: 'en'
    });
    await request('attach');
    const debugInfo = await request('debugInfo');
    const { sourcePath } = await request('dumpCell', { code: source });
    const set = await request('setBreakpoints', {
      source: { path: sourcePath },
      breakpoints: [{ line: 2 }],
      sourceModified: false
    });
    await request('configurationDone');

    const stopped = nextEvent('stopped');
    const outputs: string[] = [];
    const execution = kernel.requestExecute({ code: source });
    execution.onIOPub = (msg: any) => {
      if (msg.header.msg_type === 'stream') outputs.push(msg.content.text);
    };
    const { threadId, reason } = (await stopped).body;
    const { stackFrames } = await request('stackTrace', { threadId });
    const { scopes } = await request('scopes', { frameId: stackFrames[0].id });
    const variables: Record<string, string> = {};
    for (const scope of scopes) {
      for (const v of (await request('variables', { variablesReference: scope.variablesReference })).variables) {
        variables[`${scope.name}.${v.name}`] = v.value;
      }
    }
    const outputWhileStopped = outputs.join('');
    await request('continue', { threadId });
    const reply = await step('execute_reply after continue', execution.done);
    await request('disconnect', { restart: false, terminateDebuggee: false });
    return {
      specDebugger: spec?.metadata?.debugger,
      breakpointVerified: set.breakpoints[0]?.verified,
      tmpFilePrefix: debugInfo.tmpFilePrefix,
      sourcePath,
      reason,
      frame: { line: stackFrames[0].line, path: stackFrames[0].source?.path },
      x: variables['Globals.x'] ?? variables['Locals.x'],
      yBeforeItRuns: variables['Globals.y'] ?? variables['Locals.y'] ?? null,
      outputWhileStopped,
      status: reply.content.status,
      output: outputs.join(''),
      events: events.map(e => e.event)
    };
  }, SOURCE);

  expect(result.specDebugger).toBe(true);
  expect(result.breakpointVerified).toBe(true);
  expect(result.sourcePath.startsWith(result.tmpFilePrefix)).toBe(true);
  expect(result.reason).toBe('breakpoint');
  expect(result.frame).toEqual({ line: 2, path: result.sourcePath });
  expect(result.x).toBe('41');
  expect(result.yBeforeItRuns).toBeNull();
  expect(result.outputWhileStopped).toBe('');
  expect(result.status).toBe('ok');
  expect(result.output).toBe('42\n');
  expect(result.events).toEqual(expect.arrayContaining(['stopped', 'continued']));
});

test("JupyterLab's debugger stops a remote kernel's cell at a gutter breakpoint, shows the frame and x = 41, and continues", async ({
  page,
  hpclab
}) => {
  await openRemoteNotebook(page, hpclab);
  expect(
    await page.evaluate(() => (window as any).jupyterapp.hasPlugin('@jupyterlab/debugger-extension:main')),
    "hpclab's JupyterLab (lab/) bundles @jupyterlab/debugger-extension (lab/package.json, frontend/core-plugins.js)"
  ).toBe(true);
  await fillFirstCell(page);
  const notebook = page.locator('.jp-NotebookPanel:not(.lm-mod-hidden)');
  const cell = notebook.locator('.jp-CodeCell').first();

  // The bug icon is enabled once the debugger has found `metadata.debugger` in the kernelspec.
  const bug = notebook.locator('.jp-NotebookPanel-toolbar jp-button.jp-DebuggerBugButton');
  await expect(bug).toHaveAttribute('aria-disabled', 'false', { timeout: 30_000 });
  // A click while the debugger still sets up the kernel's debug session can be dropped (seen once
  // in a full suite run): click again, as a user would, until the button says it is on.
  await expect(async () => {
    if ((await bug.getAttribute('aria-pressed')) !== 'true') await bug.click();
    await expect(bug).toHaveAttribute('aria-pressed', 'true', { timeout: 3_000 });
  }).toPass({ timeout: 60_000 });
  const sidebar = page.locator('#jp-debugger-sidebar');
  await expect(sidebar).toBeVisible();

  // A breakpoint on line 2 (`y = x + 1`): a mousedown in the breakpoint gutter beside that line.
  const gutter = cell.locator('.cm-gutter.cm-breakpoint-gutter');
  await expect(gutter).toBeVisible();
  const line = await cell.locator('.cm-line').nth(1).boundingBox();
  const column = await gutter.boundingBox();
  await page.mouse.click(column!.x + column!.width / 2, line!.y + line!.height / 2);
  await expect(gutter.locator('.cm-breakpoint-icon')).toHaveCount(1);
  const breakpoint = sidebar.locator('.jp-DebuggerBreakpoints-body .jp-DebuggerBreakpoint');
  await expect(breakpoint).toHaveCount(1);
  await expect(breakpoint.locator('.jp-DebuggerBreakpoint-line')).toHaveText('2');

  // Run the cell (the kernel stays busy while it is stopped, so nothing waits for the run).
  await cell.locator('.cm-content').click();
  await page.keyboard.press('Control+Enter');

  // Stopped: the call stack shows the cell's frame at line 2, the editor highlights it, x is 41.
  const frame = sidebar.locator('.jp-DebuggerCallstack-body li').first();
  await expect(frame.locator('.jp-DebuggerCallstackFrame-name')).toHaveText('<module>', { timeout: 60_000 });
  await expect(frame.locator('.jp-DebuggerCallstackFrame-location')).toHaveText('Cell [*]:2');
  await expect(cell.locator('.cm-line.jp-DebuggerEditor-highlight')).toHaveText('y = x + 1');
  const variable = (name: string) =>
    sidebar
      .locator('.jp-DebuggerVariables-body [role="treeitem"]')
      .filter({ has: page.locator('.jp-DebuggerVariables-name', { hasText: new RegExp(`^${name}$`) }) });
  await expect(variable('x').locator('.jp-DebuggerVariables-detail').first()).toHaveText('41');
  await expect(variable('y')).toHaveCount(0);
  await expect(cell.locator('.jp-OutputArea-output')).toHaveCount(0);

  // Continue: the cell finishes and prints 42; the call stack empties.
  await sidebar.locator('jp-button[title^="Continue"]').click();
  await expect(cell.locator('.jp-OutputArea-output')).toHaveText('42', { useInnerText: true, timeout: 30_000 });
  await expect(sidebar.locator('.jp-DebuggerCallstack-body li')).toHaveCount(0);
  await expect(cell.locator('.jp-InputArea-prompt')).toHaveText('[1]:');

  // Off again: the bug icon unpressed, the breakpoint gutter gone.
  await bug.click();
  await expect(bug).toHaveAttribute('aria-pressed', 'false');
  await expect(gutter).toHaveCount(0);
});
