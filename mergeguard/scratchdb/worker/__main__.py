"""``python -m mergeguard.scratchdb.worker``: read the plan, run it, write the result.

The exit status and the documents are described in the package docstring.
"""

from __future__ import annotations

import os
import sys
import traceback

from mergeguard.scratchdb.protocol import ProtocolError, error_document
from mergeguard.scratchdb.worker.plan import parse_plan
from mergeguard.scratchdb.worker.runner import Output, Worker


def main() -> int:
    """Read the plan, run it, write the document; the exit status (see the package docstring)."""
    output = Output()
    sys.dont_write_bytecode = True  # never leave __pycache__ in the project's directories
    try:
        plan = parse_plan(sys.stdin.buffer.read().decode("utf-8"))
    except (ProtocolError, UnicodeDecodeError) as exc:
        message = " ".join(str(exc).split())
        print(f"mergeguard worker: malformed plan: {message}", file=sys.stderr)
        output.write(error_document(f"malformed plan: {message}"))
        return 2
    try:
        outcome = Worker(plan, output).run()
    except KeyboardInterrupt:
        output.write(error_document("interrupted"))
        return 130
    # migrations fail as results: this is a bug of the worker itself, its text is kept
    except BaseException as exc:  # noqa: BLE001 - any error of the worker's own code
        traceback.print_exc(file=sys.stderr)
        output.write(error_document(f"internal error: {type(exc).__name__}: {exc}"))
        return 3
    output.write(outcome.to_json())
    return 0


if __name__ == "__main__":
    status = main()
    sys.stderr.flush()
    os._exit(status)  # threads a migration started must not keep the process alive
