"""The worker protocol: the one description of what parent and worker exchange.

The parent (``apply``, ``paths``, ``judge``, ``crash``) writes a ``Plan`` as
JSON on the worker's stdin; the worker (``python -m mergeguard.scratchdb.worker``,
the only process that imports a project's migrations) answers with an
``Outcome`` on stdout and appends ``Running`` / ``Done`` / ``EnvChosen``
entries to the plan's progress file while it works.

Every document is built and read here, by ``to_json`` / ``from_json``.  The
worker runs project code, so whatever comes back from it is untrusted:
``from_json`` checks every field and raises ProtocolError with a one-line
reason.  Pure: imports nothing from mergeguard outside this package, nor
alembic nor sqlalchemy (the parent imports it without them).

``fields`` reads typed fields, ``plan`` is parent -> worker, ``results`` is
worker -> parent (stdout and the progress file).
"""

from __future__ import annotations

from mergeguard.scratchdb.protocol.fields import OPS, Json, ProtocolError, decode, encode
from mergeguard.scratchdb.protocol.plan import DOWN_TO_BASE, ENVS, Plan, Reset, RunPath, Step
from mergeguard.scratchdb.protocol.results import (
    Done,
    EnvChosen,
    Location,
    MissingModule,
    Outcome,
    PathResult,
    ProgressEntry,
    Running,
    StepAt,
    StepRun,
    error_document,
    progress_entry,
)

WORKER_MODULE = "mergeguard.scratchdb.worker"  # started as ``python -m WORKER_MODULE``

# Query parameters the drivers read as "connect to this database instead"
# (libpq: dbname, service; PyMySQL/mysqlclient: database, db and an option
# file that may name one): the parent refuses them in --url, the worker's
# guard keeps them equal to the scratch URL's.
DATABASE_PARAMETERS = frozenset(
    {"dbname", "database", "db", "service", "read_default_file", "read_default_group"}
)

__all__ = [
    "DATABASE_PARAMETERS",
    "DOWN_TO_BASE",
    "ENVS",
    "OPS",
    "WORKER_MODULE",
    "Done",
    "EnvChosen",
    "Json",
    "Location",
    "MissingModule",
    "Outcome",
    "PathResult",
    "Plan",
    "ProgressEntry",
    "ProtocolError",
    "Reset",
    "RunPath",
    "Running",
    "Step",
    "StepAt",
    "StepRun",
    "decode",
    "encode",
    "error_document",
    "progress_entry",
]
