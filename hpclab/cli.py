"""The `hpclab` command of the wheel: the bundled CLI, run by Node.js with the same arguments."""
from __future__ import annotations

import os
import sys

from .companion import CompanionError, bundled_main_js, checked_node


def main() -> int:
    try:
        node = checked_node()
        main_js = str(bundled_main_js())
    except CompanionError as err:
        print(f"hpclab: {err}", file=sys.stderr)
        return 1
    try:
        # Replaces this process: signals, exit code and the terminal go straight to the CLI.
        os.execv(node, [node, main_js, *sys.argv[1:]])
    except OSError as err:
        print(f"hpclab: cannot run {node}: {err}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
