"""The worker's plan: parsed and validated before any project code runs.

The plan's shape is ``mergeguard.scratchdb.protocol.Plan``; this adds the
checks that need sqlalchemy (the URL, and that a SQLite reset deletes the
file the URL names).  A malformed plan is a ProtocolError with a one-line
message (the worker's exit status 2).
"""

from __future__ import annotations

import os

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from mergeguard.scratchdb.protocol import Plan, ProtocolError, decode


def parse_plan(text: str) -> Plan:
    """The plan in ``text``; ProtocolError (one line) when it is malformed."""
    plan = Plan.from_json(decode(text, "plan"))
    try:
        url = make_url(plan.url)
    except ArgumentError:
        raise ProtocolError("plan: 'url' is not a database URL") from None
    reset = plan.reset
    if reset is not None and reset.kind == "sqlite-file":
        if url.get_backend_name() != "sqlite" or sqlite_file(url) != os.path.realpath(reset.path):
            raise ProtocolError("plan: reset 'path' is not the SQLite file that 'url' names")
    return plan


def sqlite_file(url: URL) -> str:
    """The real path of the file a SQLite URL names (memory and URI names as they are)."""
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return database
    return os.path.realpath(os.path.expanduser(database))
