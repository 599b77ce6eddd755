import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

/*
 * `npm pack` holds what an installed hpclab needs (the companion and CLI, the extension, its
 * settings schema and styles, the API document, the license) and nothing of the testbed, the
 * tests or the benchmarks. Run after `npm run build`, as `npm test` does: the package is built.
 */

const root = path.resolve(__dirname, '..', '..');

function packedFiles(): string[] {
  // --ignore-scripts: `prepack` would clean and rebuild; here the existing build is listed.
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe']
  });
  return (JSON.parse(out) as { files: { path: string }[] }[])[0].files.map(f => f.path);
}

test('the npm package holds the companion, the extension and the license, and nothing of the testbed', () => {
  const files = packedFiles();
  for (const needed of [
    'LICENSE',
    'README.md',
    'package.json',
    'dist/server/cli/main.js',
    'dist/server/main.js',
    'dist/src/contract/index.js',
    'lib/index.js',
    'schema/plugin.json',
    'style/index.css',
    'docs/openapi.json'
  ])
    expect(files).toContain(needed);
  const unwanted = files.filter(
    f =>
      /^(scripts|lab|test|ui-tests|bench|server|src|\.ci)\//.test(f) || /^dist\/test\//.test(f) || /\.test\.js$/.test(f)
  );
  expect(unwanted).toEqual([]);
}, 60_000);
