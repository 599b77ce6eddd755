// Builds hpclab's JupyterLab: JupyterLab's frontend from npm as a module-federation HOST, the way a
// user's JupyterLab is built, so that prebuilt (federated) labextensions load into it exactly
// as they do there. Output: lab/build/static (served by server/hpclab_lab.py).
const fs = require('node:fs');
const path = require('node:path');
const webpack = require('webpack');

const root = path.resolve(__dirname, '..');
const ownPackage = require(path.join(root, 'package.json'));
// The same metadata that @jupyterlab/builder read when it built the prebuilt extensions: which
// packages the core shares and which of them must exist once (singletons).
const corePackage = require('@jupyterlab/core-meta/core.package.json');

function installedVersion(name) {
  // Read the file, not require(): some packages' "exports" hide their package.json.
  const file = path.join(root, 'node_modules', name, 'package.json');
  return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')).version : null;
}

// Prebuilt extensions mark every core package `import: false` (they bring no copy of their own),
// so the host must put each one it has into the share scope. Packages that are not installed
// here (extension manager, lsp, …) cannot be shared: an extension needing them fails, as it
// would in a Lab without them.
const singletons = new Set(corePackage.jupyterlab.singletonPackages);
const shared = {};
const names = new Set([...Object.keys(corePackage.resolutions), ...Object.keys(ownPackage.dependencies)]);
for (const name of names) {
  const version = installedVersion(name);
  if (!version) continue;
  // Accept a newer compatible copy that an extension provides, never an older or breaking one.
  shared[name] = { requiredVersion: `^${version}`, singleton: singletons.has(name) };
}

module.exports = (env, argv) => ({
  mode: argv.mode || 'production',
  context: __dirname,
  entry: { bundle: './index.js' },
  output: {
    path: path.join(root, 'build', 'static'),
    filename: '[name].js',
    chunkFilename: '[name].[contenthash].js',
    // The real base is only known at run time (base_url); index.js sets it from the page config.
    publicPath: '',
    clean: true
  },
  devtool: false,
  // Lab's bundle is large by nature; the size hints would only be noise.
  performance: { hints: false },
  resolve: {
    fallback: { path: require.resolve('path-browserify'), url: false, buffer: false, crypto: false }
  },
  module: {
    rules: [
      // Lab injects these strings itself (e.g. into shadow roots); css-loader would break them.
      { test: /\.raw\.css$/, type: 'asset/source' },
      { test: /(?<!\.raw)\.css$/, use: ['style-loader', 'css-loader'] },
      { test: /\.(txt|md)$/, type: 'asset/source' },
      { test: /\.(jpg|png|gif|woff2?|ttf|otf|eot)(\?.*)?$/, type: 'asset/resource' },
      // Icons: inline data URIs inside CSS, raw SVG strings for the JS icon registry.
      { test: /\.svg(\?.*)?$/, issuer: /\.css$/, type: 'asset/inline' },
      { test: /\.svg(\?.*)?$/, issuer: /\.js$/, type: 'asset/source' },
      // Packages published as ES modules import without file extensions.
      { test: /\.m?js$/, resolve: { fullySpecified: false } }
    ]
  },
  plugins: [
    new webpack.ProvidePlugin({ process: 'process/browser' }),
    new webpack.container.ModuleFederationPlugin({
      // Same names as JupyterLab's own build, so nothing can tell the host apart.
      name: 'CORE_FEDERATION',
      library: { type: 'var', name: ['_JUPYTERLAB', 'CORE_LIBRARY_FEDERATION'] },
      shared
    })
  ]
});
