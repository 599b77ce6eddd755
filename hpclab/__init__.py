"""hpclab: Jupyter on HPC compute nodes.

The wheel carries the prebuilt JupyterLab extension (installed as shared data), the companion
(one JavaScript file run by Node.js) and this thin Jupyter server extension, which tells the
extension in the browser where the user's companion listens, starting it when none runs.
"""
from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("hpclab")
except PackageNotFoundError:
    # Imported from a source tree that was never installed: there is no metadata to read.
    __version__ = "unknown"


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "hpclab"}]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "hpclab"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """Adds `{base_url}hpclab-companion`; the companion itself starts on the first request."""
    # Imported here: the `hpclab` command imports this package too and needs no Jupyter server.
    from jupyter_server.utils import url_path_join

    from .companion import MAIN_JS, Companion
    from .handlers import ROUTE, CompanionHandler

    web_app = serverapp.web_app
    route = url_path_join(web_app.settings["base_url"], ROUTE)
    web_app.add_handlers(".*$", [(route, CompanionHandler, {"companion": Companion()})])
    serverapp.log.info("hpclab %s: the companion's address at %s (companion %s)", __version__, route, MAIN_JS)
