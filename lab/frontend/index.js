// The app entry. It must not import any shared package statically: module federation first has
// to see every prebuilt extension's container, and only then may modules be taken from the
// share scope. So: read the page config, load each federated extension's remoteEntry, init its
// container with our share scope, and only then import the app (start.js) and run it.

function pageConfig() {
  // Same source as PageConfig in @jupyterlab/coreutils, which cannot be imported yet.
  const el = document.getElementById('jupyter-config-data');
  return el ? JSON.parse(el.textContent || '{}') : {};
}

const config = pageConfig();
// Chunks live under the server's static URL (which includes base_url), known only at run time.
// eslint-disable-next-line no-undef
__webpack_public_path__ = `${config.fullStaticUrl}/`;

function loadScript(url) {
  return new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.onerror = () => reject(new Error(`cannot load ${url}`));
    script.onload = resolve;
    script.async = true;
    script.src = url;
    document.head.appendChild(script);
  });
}

// A prebuilt extension's remoteEntry assigns its container to window._JUPYTERLAB[<name>].
async function loadContainer(extension) {
  await loadScript(`${config.fullLabextensionsUrl}/${extension.name}/${extension.load}`);
  // eslint-disable-next-line no-undef
  await __webpack_init_sharing__('default');
  const container = window._JUPYTERLAB[extension.name];
  // eslint-disable-next-line no-undef
  await container.init(__webpack_share_scopes__.default);
}

async function bootstrap() {
  const extensions = config.federated_extensions || [];
  // One broken extension must not take the others (or Lab) down: report it and go on.
  const results = await Promise.allSettled(extensions.map(loadContainer));
  const loaded = extensions.filter((extension, i) => {
    if (results[i].status === 'rejected') {
      console.error(`hpclab JupyterLab: ${extension.name}:`, results[i].reason);
      return false;
    }
    return true;
  });
  const { start } = await import('./start');
  await start(loaded);
}

bootstrap().catch(error => console.error('hpclab JupyterLab failed to start', error));
