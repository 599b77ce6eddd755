"""Finds or starts the user's companion by running the bundled one with Node.js.

Everything the companion does lives in hpclab/companion/main.js (the same code as the npm
package's CLI); Python only runs `node main.js companion --json` and reads its answer.
"""
from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

MAIN_JS = Path(__file__).resolve().parent / "companion" / "main.js"
MIN_NODE_MAJOR = 20
NODE_HINT = "hpclab needs Node.js 20 or newer on PATH (conda install -c conda-forge 'nodejs>=20', or set HPCLAB_NODE)"
# `hpclab companion` waits up to 60 s for a companion it starts (SSH logins, a slow login
# node); a little more here so its own message, not our timeout, says what went wrong.
COMPANION_TIMEOUT_SEC = 70
NODE_VERSION_TIMEOUT_SEC = 15
# The companion listens on loopback: a connection either opens at once or not at all.
PROBE_TIMEOUT_SEC = 2
ANSWER_KEYS = ("url", "token", "pid", "version", "api")


class CompanionError(Exception):
    """The companion cannot be reached; the message says why and what to do about it."""


def node_path() -> str:
    """`$HPCLAB_NODE`, else `node` on PATH."""
    configured = os.environ.get("HPCLAB_NODE")
    if configured:
        if not (os.path.isfile(configured) and os.access(configured, os.X_OK)):
            raise CompanionError(f"HPCLAB_NODE is {configured}, which is not an executable file. {NODE_HINT}")
        return configured
    found = shutil.which("node")
    if not found:
        raise CompanionError(f"{NODE_HINT}; no `node` was found on PATH.")
    return found


def check_node_version(node: str, printed: str) -> None:
    """`node --version` prints `v20.11.1`; anything older than MIN_NODE_MAJOR is refused by name."""
    match = re.match(r"v(\d+)\.", printed.strip())
    if not match:
        raise CompanionError(f"`{node} --version` printed {printed.strip()!r}, not a Node.js version. {NODE_HINT}")
    if int(match.group(1)) < MIN_NODE_MAJOR:
        raise CompanionError(f"{node} is Node.js {printed.strip()}, too old. {NODE_HINT}")


def bundled_main_js() -> Path:
    if not MAIN_JS.is_file():
        raise CompanionError(f"{MAIN_JS} is missing: this hpclab install is incomplete; reinstall the hpclab package.")
    return MAIN_JS


def checked_node() -> str:
    """The node binary after the version check, for callers that may block (the `hpclab` script)."""
    node = node_path()
    try:
        printed = subprocess.run(
            [node, "--version"], capture_output=True, text=True, timeout=NODE_VERSION_TIMEOUT_SEC, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError) as err:
        raise CompanionError(f"cannot run `{node} --version` ({err}). {NODE_HINT}") from err
    check_node_version(node, printed)
    return node


async def checked_node_async() -> str:
    """Same as checked_node, without blocking the Jupyter server's event loop."""
    node = node_path()
    code, out, err = await _run([node, "--version"], f"`{node} --version`", NODE_VERSION_TIMEOUT_SEC)
    if code != 0:
        raise CompanionError(f"`{node} --version` failed (exit {code}): {_tail(err)}. {NODE_HINT}")
    check_node_version(node, out)
    return node


async def _run(argv: list[str], what: str, timeout: float) -> tuple[int, str, str]:
    """Runs argv (never through a shell); its exit code, stdout and stderr. `what` names it in errors."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
    except OSError as err:
        raise CompanionError(f"cannot run {argv[0]}: {err}") from err
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        raise CompanionError(f"{what} did not finish within {timeout:.0f} s") from None
    # Set once communicate() returns: the process has exited (negative: killed by that signal).
    code = proc.returncode if proc.returncode is not None else -1
    return code, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


def _tail(text: str, lines: int = 8) -> str:
    return "\n".join(text.strip().splitlines()[-lines:]) or "(no output)"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        # Another user's process now has that pid: ours is gone.
        return False
    return True


class Companion:
    """The companion's answer, asked once and reused while its process lives."""

    def __init__(self) -> None:
        self._answer: dict[str, Any] | None = None
        self._lock: asyncio.Lock | None = None

    async def get(self) -> dict[str, Any]:
        # Created here, inside the server's running loop (Python 3.9 binds a Lock to a loop).
        if self._lock is None:
            self._lock = asyncio.Lock()
        # One start at a time: tabs loading together share one `hpclab companion` run.
        async with self._lock:
            if self._answer is None or not await _still_serving(self._answer):
                self._answer = await ask_companion()
            return self._answer


async def _still_serving(answer: dict[str, Any]) -> bool:
    """Its process lives and its port accepts: a companion told to stop closes its listener a
    second or two before its process ends, and its successor has another port and token."""
    if not _pid_alive(answer["pid"]):
        return False
    url = urlsplit(answer["url"])
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(url.hostname, url.port), PROBE_TIMEOUT_SEC)
    except (OSError, asyncio.TimeoutError):
        # Not listening (any more): ask again, which starts a new one.
        return False
    writer.close()
    return True


async def ask_companion() -> dict[str, Any]:
    """Runs `node main.js companion --json`: the running companion, or one it starts."""
    node = await checked_node_async()
    argv = [node, str(bundled_main_js()), "companion", "--json"]
    code, out, err = await _run(argv, "`hpclab companion` (finding or starting the companion)", COMPANION_TIMEOUT_SEC)
    if code != 0:
        raise CompanionError(f"the hpclab companion did not start (exit {code}):\n{_tail(err)}")
    try:
        answer = json.loads(out)
    except ValueError as parse_error:
        raise CompanionError(f"`hpclab companion --json` printed {out[:200]!r}, not its JSON answer") from parse_error
    if not isinstance(answer, dict):
        raise CompanionError(f"`hpclab companion --json` printed {out[:200]!r}, not a JSON object")
    missing = [key for key in ANSWER_KEYS if key not in answer]
    if missing:
        raise CompanionError(f"`hpclab companion --json` left out {', '.join(missing)}: {out[:200]!r}")
    return answer
