import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { API_VERSION } from '../src/contract/common';

/**
 * This release, as the companion reports it (`GET /hpclab/api/version`, `hpclab -V`), and the
 * API's own version: the extension checks both, so an extension and a companion from different
 * releases say so instead of failing on a reply they cannot read.
 */
export const HPCLAB_VERSION: string =
  typeof BUNDLED_HPCLAB_VERSION === 'string' ? BUNDLED_HPCLAB_VERSION : ownPackageVersion(__dirname);

/**
 * Set by webpack.companion.config.js in the single-file companion of the Python wheel: no
 * package.json of hpclab lies above it there. Undefined in the tsc output and in tests.
 */
declare const BUNDLED_HPCLAB_VERSION: string | undefined;

/** Bumped when a route or reply changes incompatibly; defined with the contract it versions. */
export { API_VERSION };

/** The version in hpclab's package.json, the nearest one above `dir` (dist/server/ or server/). */
function ownPackageVersion(dir: string): string {
  for (let at = dir; ; at = path.dirname(at)) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(at, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'hpclab' && pkg.version) return pkg.version;
    } catch (err) {
      // No (readable) package.json at this level: look one level up; anything else is a broken install.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (path.dirname(at) === at) throw new Error(`hpclab: no package.json of hpclab above ${dir}`);
  }
}
