"""Runs a one-cell notebook with nbclient on the kernels of the Jupyter server at a URL.

A client without cookies or XSRF, as a script or a gateway user would write it: jupyter_server's
gateway kernel manager sends `Authorization: token <token>` on its REST calls. Its WebSocket
(jupyter_server 1.23) carries no credentials at all, so the token goes into that URL as
`?token=`, as Jupyter's own clients do. Prints the cell's stdout.

Usage: nbclient_through_url.py BASE_URL TOKEN   (BASE_URL without a trailing slash)
"""

import os
import sys

import nbformat
import websocket
from jupyter_core.utils import run_sync
from jupyter_server.gateway.gateway_client import GatewayClient
from jupyter_server.gateway.managers import GatewayKernelManager
from nbclient import NotebookClient


def main():
    base, token = sys.argv[1], sys.argv[2]
    GatewayClient.instance(url=base, auth_token=token, request_timeout=60.0)
    connect = websocket.create_connection
    websocket.create_connection = lambda url, **kw: connect(f"{url}?token={token}", **kw)
    code = "import os, socket; print(socket.gethostname(), os.environ.get('SLURM_JOB_ID'))"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    km = GatewayKernelManager(kernel_name="python3")
    try:
        NotebookClient(nb, km=km, timeout=60).execute()
    finally:
        # nbclient leaves a kernel manager it was given running: shut the kernel down (DELETE).
        if km.has_kernel:
            run_sync(km.shutdown_kernel)(now=True)
    print("".join(out.get("text", "") for out in nb.cells[0].outputs).strip(), flush=True)
    # The kernel is shut down; the 1.23 gateway client's response thread (not a daemon)
    # would wait on its closed WebSocket forever and keep the process from exiting.
    os._exit(0)


if __name__ == "__main__":
    main()
