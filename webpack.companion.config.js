// The companion and CLI as ONE file for the Python wheel (hpclab/companion/main.js): the tsc
// output (dist/server/cli/main.js, so `npm run build:server` first) with express, ssh2,
// ssh-config, zod and http-proxy-3 inside. Node.js runs it with nothing else installed.
// Run by scripts/build-wheel: `webpack --config webpack.companion.config.js`.
const path = require('node:path');
const webpack = require('webpack');
const TerserPlugin = require('terser-webpack-plugin');
const { version } = require('./package.json');

module.exports = {
  mode: 'production',
  target: 'node20',
  entry: path.resolve(__dirname, 'dist', 'server', 'cli', 'main.js'),
  output: {
    path: path.resolve(__dirname, 'hpclab', 'companion'),
    filename: 'main.js',
    clean: true
  },
  // The real directory of the bundle, not '/': the CLI spawns itself by it (server/cli/entry-path.ts).
  node: { __dirname: false, __filename: false, global: false },
  // Source maps would be a second file; readable names and a stack that points somewhere are enough.
  devtool: false,
  optimization: {
    // NODE_ENV is read when the companion runs, as it is in the npm package, not fixed at build time.
    nodeEnv: false,
    minimizer: [
      new TerserPlugin({
        // No main.js.LICENSE.txt beside the bundle: the wheel ships one file.
        extractComments: false,
        terserOptions: {
          // Error and class names show in messages and logs (err.name, instanceof across layers).
          keep_classnames: true,
          keep_fnames: true,
          mangle: false,
          format: { comments: /^!|@license|@preserve/i }
        }
      })
    ]
  },
  plugins: [
    // There is no package.json of hpclab above the bundle: server/version.ts reads this instead.
    new webpack.DefinePlugin({ BUNDLED_HPCLAB_VERSION: JSON.stringify(version) }),
    // ssh2's optional native speed-ups: without them it uses its pure-JS code, as it does when
    // they failed to compile. Ignored here, their require() throws inside ssh2's own try/catch.
    new webpack.IgnorePlugin({ resourceRegExp: /^cpu-features$|sshcrypto\.node$/ }),
    new webpack.BannerPlugin({ banner: '#!/usr/bin/env node', raw: true, entryOnly: true })
  ],
  ignoreWarnings: [
    // express picks a view engine with require(name) at run time; the companion renders no views.
    {
      module: /node_modules[\\/]express[\\/]lib[\\/]view\.js$/,
      message: /the request of a dependency is an expression/
    }
  ],
  performance: { hints: false },
  stats: 'errors-warnings'
};
