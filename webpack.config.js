// Extra webpack settings merged by @jupyterlab/builder into the prebuilt labextension build.
// The extension runs in the browser: the companion's Node-only modules must never be bundled.
module.exports = {
  resolve: {
    fallback: { fs: false, net: false, child_process: false }
  },
  performance: { hints: false }
};
