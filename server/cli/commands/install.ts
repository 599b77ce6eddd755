import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { kernelsDir } from '../../kernels/kernelspec';
import { defineCommand } from '../args';

/** Where `npm run build` puts the prebuilt labextension, relative to this file in dist/. */
const BUILT = path.resolve(__dirname, '..', '..', '..', '..', 'hpclab', 'labextension');

export const installCommand = defineCommand({
  name: 'install',
  summary: 'Put the prebuilt JupyterLab extension where JupyterLab loads prebuilt extensions',
  usage: ['hpclab install [--dir DIR] [--json]'],
  description:
    "Copies the prebuilt JupyterLab extension (exactly what `npm run build` made) into the Jupyter data dir's labextensions/, replacing an older copy in one step, and says where. Not needed with the Python package, which carries the extension.",
  flags: {
    dir: {
      type: 'string',
      value: 'DIR',
      description: "the labextensions directory to install into (default: the Jupyter data dir's labextensions/)"
    },
    json: { type: 'boolean', description: 'print {name, version, path} of the installed extension as JSON' },
    config: { type: 'string', value: 'FILE', description: 'accepted as on every command; install reads no config' }
  },
  examples: [
    { description: 'Install for your user, then restart JupyterLab', command: 'hpclab install' },
    {
      description: "Into a virtual environment's JupyterLab",
      command: 'hpclab install --dir "$VIRTUAL_ENV/share/jupyter/labextensions"'
    }
  ],
  env: ['JUPYTER_DATA_DIR', 'XDG_DATA_HOME'],
  async run({ values }) {
    const pkg = JSON.parse(
      await fs.readFile(path.join(BUILT, 'package.json'), 'utf8').catch((err: unknown) => {
        throw new Error(`no prebuilt extension at ${BUILT}: run \`npm run build\` first`, { cause: err });
      })
    ) as { name: string; version: string };
    // The same data dir Jupyter reads kernelspecs from: <data dir>/labextensions/<package name>/.
    const root = values.dir
      ? path.resolve(values.dir)
      : path.join(path.dirname(kernelsDir(process.env, os.homedir())), 'labextensions');
    const target = path.join(root, pkg.name);
    const staging = `${target}.installing-${process.pid}`;
    await fs.rm(staging, { recursive: true, force: true });
    await fs.cp(BUILT, staging, { recursive: true });
    await fs.writeFile(
      path.join(staging, 'install.json'),
      JSON.stringify(
        { packageManager: 'npm', packageName: 'hpclab', uninstallInstructions: `Remove ${target}` },
        null,
        2
      ) + '\n'
    );
    // Swap in whole: a JupyterLab starting meanwhile sees the old build or the new one, never half.
    await fs.rm(target, { recursive: true, force: true });
    await fs.rename(staging, target);
    if (values.json)
      process.stdout.write(JSON.stringify({ name: pkg.name, version: pkg.version, path: target }) + '\n');
    else
      process.stdout.write(
        `Installed the hpclab extension ${pkg.version} into ${target}\nRestart JupyterLab (or reload the page of a running one) to load it.\n`
      );
    return 0;
  }
});
