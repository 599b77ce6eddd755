// Behind the companion the host is "the local Jupyter server" under a path prefix: everything
// (bundle chunks, extensions, settings, themes) must follow --ServerApp.base_url. Also shows how
// a spec passes extra server flags (worker-scoped options: top level of a file, a new server).
import { expect, test } from './fixtures';

test.use({ serverArgs: ['--ServerApp.base_url=/prefix/for/tests/'] });

test('Lab and the prebuilt extension load under a base_url', async ({ page, lab }) => {
  expect(lab.baseUrl).toMatch(/\/prefix\/for\/tests$/);
  const outside: string[] = [];
  page.on('request', request => {
    const url = new URL(request.url());
    // The host's own requests; our extension talks to the companion at the origin's /hpclab/
    // (docs/ARCHITECTURE.md, "How the browser finds the companion"), which is not Lab's base_url.
    const own = !url.pathname.startsWith('/hpclab/');
    if (url.protocol.startsWith('http') && own && !url.pathname.startsWith('/prefix/for/tests/')) {
      outside.push(url.pathname);
    }
  });
  await page.goto(lab.url('lab'));
  await expect(page.locator('.jp-Launcher')).toBeVisible({ timeout: 60_000 });
  await expect(page.locator('body')).toHaveAttribute('data-hpclab', 'loaded');
  // The theme is fetched from the themes API, so it too came through the prefix.
  await expect(page.locator('body')).toHaveAttribute('data-jp-theme-light', 'true');
  expect(outside).toEqual([]);
});
