"""Runs a one-cell notebook with nbclient on the kernels of the Jupyter server at a URL.

A header-only client, as a script or a gateway user would write it: jupyter_server's gateway
kernel manager sends `Authorization: token <token>` on its REST calls and its WebSocket; no
cookie, no XSRF. Prints the cell's stdout.

Usage: nbclient_through_url.py BASE_URL TOKEN   (BASE_URL without a trailing slash)
"""

import sys

import nbformat
from jupyter_server.gateway.gateway_client import GatewayClient
from jupyter_server.gateway.managers import GatewayKernelManager
from nbclient import NotebookClient


def main():
    base, token = sys.argv[1], sys.argv[2]
    GatewayClient.instance(url=base, auth_token=token, request_timeout=60.0)
    code = "import os, socket; print(socket.gethostname(), os.environ.get('SLURM_JOB_ID'))"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    NotebookClient(nb, km=GatewayKernelManager(kernel_name="python3"), timeout=60).execute()
    print("".join(out.get("text", "") for out in nb.cells[0].outputs).strip())


if __name__ == "__main__":
    main()
