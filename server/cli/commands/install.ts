import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { kernelsDir } from '../../kernels/kernelspec';
import { parseCommandArgs, type Command } from '../args';

/** Where `npm run build` puts the prebuilt labextension, relative to this file in dist/. */
const BUILT = path.resolve(__dirname, '..', '..', '..', '..', 'hpclab', 'labextension');

export const installCommand: Command = {
  name: 'install',
  summary: 'Put the prebuilt JupyterLab extension where JupyterLab loads prebuilt extensions',
  usage: 'hpclab install [--dir DIR]   (default: the Jupyter data dir\'s labextensions/)',
  async run(argv) {
    const { values } = parseCommandArgs(this, argv, { dir: { type: 'string' } });
    const pkg = JSON.parse(await fs.readFile(path.join(BUILT, 'package.json'), 'utf8').catch(() => {
      throw new Error(`no prebuilt extension at ${BUILT}: run \`npm run build\` first`);
    })) as { name: string; version: string };
    // The same data dir Jupyter reads kernelspecs from: <data dir>/labextensions/<package name>/.
    const root = values.dir ? path.resolve(values.dir) : path.join(path.dirname(kernelsDir(process.env, os.homedir())), 'labextensions');
    const target = path.join(root, pkg.name);
    const staging = `${target}.installing-${process.pid}`;
    await fs.rm(staging, { recursive: true, force: true });
    await fs.cp(BUILT, staging, { recursive: true });
    await fs.writeFile(
      path.join(staging, 'install.json'),
      JSON.stringify({ packageManager: 'npm', packageName: 'hpclab', uninstallInstructions: `Remove ${target}` }, null, 2) + '\n'
    );
    // Swap in whole: a JupyterLab starting meanwhile sees the old build or the new one, never half.
    await fs.rm(target, { recursive: true, force: true });
    await fs.rename(staging, target);
    process.stdout.write(`Installed the hpclab extension ${pkg.version} into ${target}\nRestart JupyterLab (or reload the page of a running one) to load it.\n`);
    return 0;
  }
};
