// The core plugins this host bundles (enough for a launcher, notebooks, consoles, the file
// browser, editor, settings editor, table of contents, status bar, notifications and both
// themes; metadataform and toc because the notebook's plugins require them) and their CSS,
// imported the way JupyterLab's generated entry does. Left out on purpose: extension manager,
// plugin manager and language server (they need server parts Debian's packages lack; the
// language-server plugins of the notebook and editor are disabled in server/settings).
import '@jupyterlab/application-extension/style/index.js';
import '@jupyterlab/apputils-extension/style/index.js';
import '@jupyterlab/codemirror-extension/style/index.js';
import '@jupyterlab/completer-extension/style/index.js';
import '@jupyterlab/console-extension/style/index.js';
import '@jupyterlab/debugger-extension/style/index.js';
import '@jupyterlab/docmanager-extension/style/index.js';
import '@jupyterlab/documentsearch-extension/style/index.js';
import '@jupyterlab/filebrowser-extension/style/index.js';
import '@jupyterlab/fileeditor-extension/style/index.js';
import '@jupyterlab/help-extension/style/index.js';
import '@jupyterlab/launcher-extension/style/index.js';
import '@jupyterlab/mainmenu-extension/style/index.js';
import '@jupyterlab/markdownviewer-extension/style/index.js';
import '@jupyterlab/metadataform-extension/style/index.js';
import '@jupyterlab/notebook-extension/style/index.js';
import '@jupyterlab/rendermime-extension/style/index.js';
import '@jupyterlab/running-extension/style/index.js';
import '@jupyterlab/settingeditor-extension/style/index.js';
import '@jupyterlab/shortcuts-extension/style/index.js';
import '@jupyterlab/statusbar-extension/style/index.js';
import '@jupyterlab/toc-extension/style/index.js';
import '@jupyterlab/tooltip-extension/style/index.js';
import '@jupyterlab/translation-extension/style/index.js';
import '@jupyterlab/ui-components-extension/style/index.js';

export const coreModules = [
  require('@jupyterlab/application-extension'),
  require('@jupyterlab/apputils-extension'),
  require('@jupyterlab/codemirror-extension'),
  require('@jupyterlab/completer-extension'),
  require('@jupyterlab/console-extension'),
  require('@jupyterlab/debugger-extension'),
  require('@jupyterlab/docmanager-extension'),
  require('@jupyterlab/documentsearch-extension'),
  require('@jupyterlab/filebrowser-extension'),
  require('@jupyterlab/fileeditor-extension'),
  require('@jupyterlab/help-extension'),
  require('@jupyterlab/launcher-extension'),
  require('@jupyterlab/mainmenu-extension'),
  require('@jupyterlab/markdownviewer-extension'),
  require('@jupyterlab/metadataform-extension'),
  require('@jupyterlab/notebook-extension'),
  require('@jupyterlab/rendermime-extension'),
  require('@jupyterlab/running-extension'),
  require('@jupyterlab/services-extension'),
  require('@jupyterlab/settingeditor-extension'),
  require('@jupyterlab/shortcuts-extension'),
  require('@jupyterlab/statusbar-extension'),
  require('@jupyterlab/theme-dark-extension'),
  require('@jupyterlab/theme-light-extension'),
  require('@jupyterlab/toc-extension'),
  require('@jupyterlab/tooltip-extension'),
  require('@jupyterlab/translation-extension'),
  require('@jupyterlab/ui-components-extension')
];
