import * as path from 'node:path';

/**
 * The file that runs the `hpclab` CLI, for spawning ourselves again (the background companion,
 * kernelspec argv). This module sits beside cli/main.js after tsc (dist/server/cli/), and in the
 * single-file bundle of the Python wheel every module's __dirname is the bundle's own directory
 * and the bundle is named main.js: the same expression is right in both.
 */
export const CLI_ENTRY = path.join(__dirname, 'main.js');
