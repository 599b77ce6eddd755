// @jupyterlab/builder needs JupyterLab's core package.json to know which modules the host
// shares; @jupyterlab/core-meta ships it. Copy it where `build-labextension --core-path` looks.
const fs = require('node:fs');
const path = require('node:path');

const source = require.resolve('@jupyterlab/core-meta/core.package.json');
const target = path.join(__dirname, '..', 'build', 'core', 'package.json');
fs.mkdirSync(path.dirname(target), { recursive: true });
fs.copyFileSync(source, target);
