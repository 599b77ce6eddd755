// Assembles build/schemas and build/themes from the installed core extension packages, laid out
// the way jupyterlab_server reads them (and @jupyterlab/builder writes them):
//   build/schemas/<package>/<plugin>.json + package.json.orig (the version the settings API shows)
//   build/themes/<package>/index.css (+ whatever the theme's CSS refers to)
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const out = path.join(root, 'build');
const ownPackage = require(path.join(root, 'package.json'));

function packageDir(name) {
  return path.join(root, 'node_modules', name);
}

// Inline `@import './x.css';` so a theme is one file, as the builder's webpack would make it;
// url(...) references stay relative and are copied alongside.
function inlineImports(file) {
  const css = fs.readFileSync(file, 'utf8');
  return css.replace(/@import\s+(?:url\()?['"]([^'"]+)['"]\)?\s*;/g, (match, target) =>
    /^[a-z]+:|^\//i.test(target) ? match : inlineImports(path.resolve(path.dirname(file), target))
  );
}

function collectSchemas(name, meta, dir) {
  const source = path.join(dir, meta.schemaDir);
  const target = path.join(out, 'schemas', name);
  fs.mkdirSync(target, { recursive: true });
  for (const file of fs.readdirSync(source).filter(f => f.endsWith('.json'))) {
    fs.copyFileSync(path.join(source, file), path.join(target, file));
  }
  fs.copyFileSync(path.join(dir, 'package.json'), path.join(target, 'package.json.orig'));
}

function collectTheme(name, meta, dir) {
  const source = path.join(dir, meta.themePath);
  const target = path.join(out, 'themes', name);
  // Copy the theme's folder for its images and fonts, then replace the CSS with one file.
  fs.cpSync(path.dirname(source), target, { recursive: true, filter: f => !f.endsWith('.css') });
  fs.writeFileSync(path.join(target, 'index.css'), inlineImports(source));
}

fs.rmSync(path.join(out, 'schemas'), { recursive: true, force: true });
fs.rmSync(path.join(out, 'themes'), { recursive: true, force: true });
let schemas = 0;
let themes = 0;
for (const name of Object.keys(ownPackage.dependencies)) {
  const dir = packageDir(name);
  const meta = require(path.join(dir, 'package.json')).jupyterlab || {};
  if (meta.schemaDir) {
    collectSchemas(name, meta, dir);
    schemas += 1;
  }
  if (meta.themePath) {
    collectTheme(name, meta, dir);
    themes += 1;
  }
}
// The server shows this in Help > About; an installed copy of the build has no node_modules.
const labVersion = require(path.join(packageDir('@jupyterlab/application'), 'package.json')).version;
fs.writeFileSync(path.join(out, 'version.json'), `${JSON.stringify({ jupyterlab: labVersion })}\n`);
console.log(`collect-schemas: ${schemas} schema packages, ${themes} themes -> ${out}`);
