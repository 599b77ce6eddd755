"""hpclab's JupyterLab server: JupyterLab's server side without the `jupyterlab` Python package.

Where the `jupyterlab` package cannot be installed (Debian 12 packages jupyter_server 1.23 and
jupyterlab_server 2.16.5 but not JupyterLab), this LabServerApp (the documented base for custom
Lab apps) serves JupyterLab 4.6's frontend as frontend/webpack.config.js built it. The demo runs
it on the user's side, the testbed's Lab profiles on the compute node, the browser tests in
between. Prebuilt labextensions come from `labextensions_path`, found and served by
jupyterlab_server exactly as in a user's JupyterLab; settings and workspaces live where
JupyterLab keeps them (~/.jupyter/lab/…).

Run with /usr/bin/python3 (Debian's modules); all jupyter_server flags work (--port, --token,
--no-browser, --ServerApp.base_url, --ServerApp.root_dir, ...), plus
--labextensions-path=DIR (repeatable), --expose-app-in-browser, --user-settings-dir,
--workspaces-dir and --initial-left-panel=ID.
"""

import getpass
import json
import os
import sys

from jupyter_server._version import version_info as server_version_info
from jupyter_server.base.handlers import APIHandler, JupyterHandler
from jupyter_server.base.zmqhandlers import WebSocketMixin
from jupyter_server.serverapp import flags as server_flags
from jupyter_core.paths import jupyter_config_dir
from jupyterlab_server import LabServerApp
from jupyterlab_server.workspaces_handler import WORKSPACE_EXTENSION, slugify
from tornado import web, websocket
from traitlets import Bool, Unicode

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.join(os.path.dirname(HERE), "build")


def _frontend_version():
    """The version of the JupyterLab frontend in the build (shown in Help > About); the build
    records it because an installed copy has no node_modules to read it from."""
    try:
        with open(os.path.join(BUILD, "version.json"), encoding="utf-8") as fid:
            return json.load(fid)["jupyterlab"]
    except (OSError, ValueError, KeyError):
        # A build from before the file existed: About shows no version, nothing else changes.
        return ""


class MeHandler(APIHandler):
    """jupyter_server 1.x has no /api/me (2.x does); Lab's user manager asks for it at start."""

    @web.authenticated
    def get(self):
        name = getpass.getuser()
        identity = {"username": name, "name": name, "display_name": name, "initials": name[:2].upper(),
                    "avatar_url": None, "color": None}
        self.finish(json.dumps({"identity": identity, "permissions": {}}))


class EventsStubHandler(WebSocketMixin, websocket.WebSocketHandler, JupyterHandler):
    """jupyter_server 1.x has no event bus. Lab's event manager reconnects whenever its socket
    fails, so accept the socket and never send anything: silence instead of a 404 loop."""

    def get(self, *args, **kwargs):
        if not self.current_user:
            raise web.HTTPError(403)
        return super().get(*args, **kwargs)

    def on_message(self, message):
        pass


class HpclabLab(LabServerApp):
    name = "hpclab_lab"
    app_name = "JupyterLab"
    app_version = _frontend_version()
    extension_url = "/lab"
    default_url = "/lab"
    # As `jupyter lab` does: server extensions installed with pip (hpclab's wheel among them)
    # load too. Tests that must see none start with an empty JUPYTER_CONFIG_PATH of their own.
    load_other_extensions = True

    static_dir = os.path.join(BUILD, "static")
    schemas_dir = os.path.join(BUILD, "schemas")
    themes_dir = os.path.join(BUILD, "themes")
    templates_dir = os.path.join(HERE, "templates")
    # overrides.json (settings defaults of this Lab) and page_config.json live here.
    app_settings_dir = os.path.join(HERE, "settings")
    # Where JupyterLab itself keeps them, so a user's settings and layouts carry over.
    user_settings_dir = Unicode(
        os.environ.get("JUPYTERLAB_SETTINGS_DIR") or os.path.join(jupyter_config_dir(), "lab", "user-settings"),
        config=True, help="Where the settings editor saves user settings.")
    workspaces_dir = Unicode(
        os.environ.get("JUPYTERLAB_WORKSPACES_DIR") or os.path.join(jupyter_config_dir(), "lab", "workspaces"),
        config=True, help="Where Lab saves workspaces (layouts).")
    initial_left_panel = Unicode("", config=True, help=(
        "The id of the left-area panel a new default workspace opens on (e.g. hpclab-sidebar). "
        "Only seeds a workspace that does not exist yet: the user's own layout always wins."))
    expose_app_in_browser = Bool(False, config=True,
                                 help="Set window.jupyterapp, for browser tests.")

    aliases = {
        **LabServerApp.aliases,
        # jupyter_server 1.x has no --token alias (2.x does); tests and the companion pass one.
        "token": "ServerApp.token",
        # Replaces jupyter's standard labextensions dirs, so a test sees only what it points at.
        "labextensions-path": "HpclabLab.labextensions_path",
        "user-settings-dir": "HpclabLab.user_settings_dir",
        "workspaces-dir": "HpclabLab.workspaces_dir",
        "initial-left-panel": "HpclabLab.initial_left_panel",
    }
    host_flags = {
        "expose-app-in-browser": ({"HpclabLab": {"expose_app_in_browser": True}},
                                  "Set window.jupyterapp in the page, for browser tests."),
    }

    # Listed for --help; initialize_server is what makes the server's parser accept them.
    flags = {**LabServerApp.flags, **host_flags}

    @classmethod
    def initialize_server(cls, argv=None, **kwargs):
        # jupyter_server 1.x hands an extension's aliases to the server's parser, not its flags.
        return super().initialize_server(argv=argv, flags={**server_flags, **cls.host_flags},
                                         **kwargs)

    def initialize_handlers(self):
        # What JupyterLab's own LabApp adds to the page config and LabServerApp does not.
        page_config = self.serverapp.web_app.settings.setdefault("page_config_data", {})
        page_config["token"] = self.serverapp.token
        page_config["exposeAppInBrowser"] = self.expose_app_in_browser
        # The frontend expects a JSON-encoded list here.
        page_config["notebookVersion"] = json.dumps(list(server_version_info[:3]))
        if self.initial_left_panel:
            self._seed_default_workspace()
        self.handlers.append(("/api/me", MeHandler))
        self.handlers.append(("/api/events/subscribe", EventsStubHandler))
        super().initialize_handlers()


    def _seed_default_workspace(self):
        """Writes a default workspace whose left area shows `initial_left_panel`, if there is none.

        The layout restorer opens the panel registered under that name; the main area stays
        empty, so the launcher opens as on any first start."""
        path = os.path.join(self.workspaces_dir, slugify("default") + WORKSPACE_EXTENSION)
        if os.path.exists(path):
            return
        left = {"collapsed": False, "visible": True, "current": self.initial_left_panel,
                "widgets": [self.initial_left_panel]}
        workspace = {"data": {"layout-restorer:data": {"main": {"dock": None}, "left": left}},
                     "metadata": {"id": "default"}}
        os.makedirs(self.workspaces_dir, exist_ok=True)
        with open(path, "w", encoding="utf-8") as fid:
            json.dump(workspace, fid)


def _jupyter_server_extension_points():
    return [{"module": "hpclab_lab", "app": HpclabLab}]


if __name__ == "__main__":
    # Launch through the importable module, not __main__: jupyter_server imports the extension
    # by its module name.
    sys.path.insert(0, HERE)
    from hpclab_lab import HpclabLab as App

    App.launch_instance()
