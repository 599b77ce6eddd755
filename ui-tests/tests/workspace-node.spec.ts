// The Request form's node picker and Exclusive box, and a session workspace's "Back up now", as a
// researcher uses them: `hpclab lab` in front of JupyterLab, the testbed's Slurm behind the
// companion. Needs the testbed config's `ws` profile (a Lab with a workspace).
import type { Locator, Page } from '@playwright/test';
import { expect, test, type HpclabLab } from './hpclab-fixtures';

/** A backup's file name, as the companion writes it: `workspace-20261206T081500Z.tar.zst`. */
const BACKUP_NAME = /workspace-\d{8}T\d{6}Z\.tar(?:\.zst|\.lz4)?/;

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

/** The ids of the sessions listed now: the row a test adds is the one not among them. */
async function listedSessions(page: Page): Promise<string[]> {
  return sidebar(page)
    .locator('.jp-hpclab-session')
    .evaluateAll(rows => rows.map(r => (r as HTMLElement).dataset.session ?? ''));
}

/** The session row that appeared after `before` was read. */
function freshRow(page: Page, before: string[]): Locator {
  return sidebar(page)
    .locator('.jp-hpclab-session')
    .and(page.locator(before.map(b => `:not([data-session="${b}"])`).join('') || '*'))
    .first();
}

test('the node picker offers the idle node; picked with Exclusive, the request names it and the job runs there', async ({
  page,
  hpclab
}) => {
  // The testbed's compute node (`c1` on the split testbed).
  const node = hpclab.testbed.node;
  await openLab(page, hpclab);
  await chooseProfile(page, 'cpu');
  const form = sidebar(page).locator('.jp-hpclab-form');
  const partition = form.locator('[data-field="partition"] select');
  await expect(partition).toHaveValue('debug');
  const picker = form.locator('[data-field="nodelist"] select');
  await expect(picker).toHaveValue('');
  await expect(picker.locator('option').first()).toHaveText('Any node');
  const option = picker.locator(`option[value="${node}"]`);
  await expect(option).toBeAttached();
  // The list is read when the partition changes; a job of an earlier test may still be leaving
  // the node, so choose the partition again until the node is idle.
  await expect
    .poll(
      async () => {
        if ((await option.getAttribute('data-state', { timeout: 10_000 })) === 'idle') return 'idle';
        await partition.selectOption('gpu');
        await partition.selectOption('debug');
        return option.getAttribute('data-state', { timeout: 10_000 });
      },
      { timeout: 60_000, intervals: [1000] }
    )
    .toBe('idle');
  await expect(option).toHaveText(new RegExp(`^${node} · idle · \\d+ CPUs? free`));
  await expect(option).toHaveJSProperty('disabled', false);

  await picker.selectOption(node);
  await form.locator('[data-field="exclusive"] input[type="checkbox"]').check();
  // An idle node stays picked when the whole node is asked for.
  await expect(picker).toHaveValue(node);
  const preview = sidebar(page).locator('.jp-hpclab-preview');
  await expect(preview).toContainText(`--nodelist=${node}`);
  await expect(preview).toContainText('--exclusive');

  const before = await listedSessions(page);
  const [request] = await Promise.all([
    page.waitForRequest(r => r.method() === 'POST' && new URL(r.url()).pathname.endsWith('/hpclab/api/sessions')),
    form.locator('button[type="submit"]').click()
  ]);
  expect(request.postDataJSON()).toMatchObject({
    kind: 'lab',
    profile: 'cpu',
    overrides: { partition: 'debug', nodelist: node, sbatch: { exclusive: '' } }
  });
  const row = freshRow(page, before);
  await expect(row).toHaveAttribute('data-state', 'running', { timeout: 90_000 });
  await expect(row.locator('.jp-hpclab-muted').first()).toContainText(node);
  expect(hpclab.jobs()).toHaveLength(1);
});

test('Back up now on a running session with a workspace: a notification names the backup file', async ({
  page,
  hpclab
}) => {
  await openLab(page, hpclab);
  await chooseProfile(page, 'ws');
  const before = await listedSessions(page);
  await sidebar(page).locator('.jp-hpclab-form button[type="submit"]').click();
  const row = freshRow(page, before);
  await expect(row).toHaveAttribute('data-state', 'running', { timeout: 90_000 });
  const id = (await row.getAttribute('data-session'))!;

  // The workspace comes with the session; a restore at the start runs first.
  const line = row.locator('.jp-hpclab-workspace');
  await expect(line).toHaveAttribute('data-workspace', 'idle', { timeout: 60_000 });
  const backup = row.locator('[data-action="backup"]');
  await expect(backup).toBeEnabled();
  await backup.click();

  const toast = page.locator('.jp-toast-message', { hasText: /Backed up the workspace of ws \(job \d+\) to / });
  await expect(toast).toBeVisible({ timeout: 120_000 });
  const name = BACKUP_NAME.exec((await toast.textContent()) ?? '')?.[0];
  expect(name).toBeTruthy();

  // The companion lists it, newest first, and the sidebar's line shows a last backup.
  const listed = await page.evaluate(
    async sid => (await fetch(`/hpclab/api/sessions/${sid}/workspace/backups`)).json(),
    id
  );
  expect(listed[0].name).toBe(name);
  await expect(line).toContainText(/last backup .+ \(\d+(\.\d)? (B|KiB|MiB|GiB)\)/, { timeout: 30_000 });
  await expect(backup).toBeEnabled();
});
