"""`GET {base_url}hpclab-companion`: where the user's companion listens, for the extension in the browser."""
from __future__ import annotations

import json

import tornado.web
from jupyter_server.base.handlers import APIHandler

from .companion import Companion, CompanionError

ROUTE = "hpclab-companion"


class CompanionHandler(APIHandler):
    """Hands the companion's URL and token to the browser.

    Safe to give to anyone Jupyter has authenticated: that is the user who runs this Jupyter
    server, and the companion is theirs too (same account, started by this server's process or
    by them), listening on loopback only. Whoever holds this Jupyter's token can already run
    code as that user, which is more than the companion's token allows.
    """

    def initialize(self, companion: Companion) -> None:
        self.companion = companion

    @tornado.web.authenticated
    async def get(self) -> None:
        # A token in a reply: never kept by a browser or proxy cache.
        self.set_header("Cache-Control", "no-store")
        self.set_header("Content-Type", "application/json")
        try:
            answer = await self.companion.get()
        except CompanionError as err:
            self.log.error("hpclab: the companion is unavailable: %s", err)
            self.set_status(503)
            self.finish(json.dumps({"error": {"code": "companion-unavailable", "message": str(err)}}))
            return
        self.finish(json.dumps({key: answer[key] for key in ("url", "token", "version", "api")}))
