"""The test host's server: JupyterLab's server side without the `jupyterlab` Python package.

Debian 12 has jupyter_server 1.23 and jupyterlab_server 2.16.5 but no `jupyterlab`, so this is
a LabServerApp (the documented base for custom Lab apps) serving the frontend that
host/webpack.config.js built. Prebuilt labextensions come from `labextensions_path`, found and
served by jupyterlab_server exactly as in a user's JupyterLab.

Run with /usr/bin/python3 (Debian's modules); all jupyter_server flags work (--port, --token,
--no-browser, --ServerApp.base_url, --ServerApp.root_dir, ...), plus
--labextensions-path=DIR (repeatable), --expose-app-in-browser, --user-settings-dir, --workspaces-dir.
"""

import json
import os
import sys

from jupyter_server._version import version_info as server_version_info
from jupyter_server.base.handlers import APIHandler, JupyterHandler
from jupyter_server.base.zmqhandlers import WebSocketMixin
from jupyter_server.serverapp import flags as server_flags
from jupyterlab_server import LabServerApp
from tornado import web, websocket
from traitlets import Bool, Unicode

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.join(os.path.dirname(HERE), "build")


def _frontend_version():
    """The version of the JupyterLab frontend the host was built from (shown in Help > About)."""
    package = os.path.join(os.path.dirname(HERE), "node_modules", "@jupyterlab", "application",
                           "package.json")
    try:
        with open(package, encoding="utf-8") as fid:
            return json.load(fid)["version"]
    except (OSError, ValueError, KeyError):
        return ""


class MeHandler(APIHandler):
    """jupyter_server 1.x has no /api/me (2.x does); Lab's user manager asks for it at start."""

    @web.authenticated
    def get(self):
        name = "hpclab-test"
        identity = {"username": name, "name": name, "display_name": name, "initials": "HT",
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


class HpclabLabHost(LabServerApp):
    name = "hpclab_lab_host"
    app_name = "JupyterLab (hpclab test host)"
    app_version = _frontend_version()
    extension_url = "/lab"
    default_url = "/lab"
    # Only this app: no server extensions that happen to be installed on the machine.
    load_other_extensions = False

    static_dir = os.path.join(BUILD, "static")
    schemas_dir = os.path.join(BUILD, "schemas")
    themes_dir = os.path.join(BUILD, "themes")
    templates_dir = os.path.join(HERE, "templates")
    # overrides.json (settings defaults for this host) and page_config.json live here.
    app_settings_dir = os.path.join(HERE, "settings")
    user_settings_dir = Unicode(os.path.join(BUILD, "user-settings"), config=True,
                                help="Where the settings editor saves user settings.")
    workspaces_dir = Unicode(os.path.join(BUILD, "workspaces"), config=True,
                             help="Where Lab saves workspaces (layouts).")
    expose_app_in_browser = Bool(False, config=True,
                                 help="Set window.jupyterapp, for browser tests.")

    aliases = {
        **LabServerApp.aliases,
        # jupyter_server 1.x has no --token alias (2.x does); tests and the companion pass one.
        "token": "ServerApp.token",
        # Replaces jupyter's standard labextensions dirs, so a test sees only what it points at.
        "labextensions-path": "HpclabLabHost.labextensions_path",
        "user-settings-dir": "HpclabLabHost.user_settings_dir",
        "workspaces-dir": "HpclabLabHost.workspaces_dir",
    }
    host_flags = {
        "expose-app-in-browser": ({"HpclabLabHost": {"expose_app_in_browser": True}},
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
        self.handlers.append(("/api/me", MeHandler))
        self.handlers.append(("/api/events/subscribe", EventsStubHandler))
        super().initialize_handlers()


def _jupyter_server_extension_points():
    return [{"module": "hpclab_lab_host", "app": HpclabLabHost}]


if __name__ == "__main__":
    # Launch through the importable module, not __main__: jupyter_server imports the extension
    # by its module name.
    sys.path.insert(0, HERE)
    from hpclab_lab_host import HpclabLabHost as App

    App.launch_instance()
