"""The worker's results: one ``PathResult`` per path, and how a failure is described in it.

A failing migration is a result, not an error: its type, the database's own
text, the statement and the place in the migration file are recorded.
"""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from sqlalchemy.exc import DBAPIError, StatementError

from mergeguard.scratchdb.protocol import Json, Location, MissingModule, PathResult, StepAt, StepRun
from mergeguard.scratchdb.worker.watchdog import StepTimeout

ERROR_LINES = 6
FAILURES = (Exception, SystemExit, StepTimeout)


def describe(exc: BaseException) -> tuple[str, str]:
    """(error_type, text): the database's own message for a database error."""
    if isinstance(exc, StepTimeout):
        return "Timeout", str(exc)
    orig = exc.orig if isinstance(exc, DBAPIError) else None
    text = str(orig if orig is not None else exc)
    if orig is not None and len(orig.args) == 2 and isinstance(orig.args[0], int):
        text = f"{orig.args[1]} (error {orig.args[0]})"  # MySQL drivers: (code, message)
    lines = [line.rstrip() for line in text.strip().splitlines() if line.strip()]
    return type(exc).__name__, "\n".join(lines[:ERROR_LINES]) or repr(exc)


def one_line(exc: BaseException) -> str:
    kind, text = describe(exc)
    return f"{kind}: {' '.join(text.split())}"


def location(exc: BaseException, roots: Sequence[str]) -> Location | None:
    """The deepest frame of ``exc`` (or of its causes) inside ``roots``, e.g. a migration."""
    prefixes = tuple(os.path.join(os.path.realpath(root), "") for root in roots)

    def inside(filename: str | None) -> bool:
        return bool(filename) and os.path.realpath(filename or "").startswith(prefixes)

    for current in chain(exc):
        if isinstance(current, SyntaxError) and inside(current.filename):
            return Location(current.filename or "", current.lineno)
        frames = [f for f in traceback.extract_tb(current.__traceback__) if inside(f.filename)]
        if frames:
            return Location(frames[-1].filename, frames[-1].lineno)
    return None


def chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and the exceptions it was raised from or while handling."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def missing_module(exc: BaseException, tree: str) -> MissingModule | None:
    """The module (and where it is imported) when ``exc`` (or a cause) is a module that is not
    installed: the worker knows the exception's type and ``name``, so the
    parent never parses error text.  The place is the deepest frame inside the
    project's tree (the line whose import needed it), when there is one."""
    found = next((e for e in chain(exc) if isinstance(e, ModuleNotFoundError) and e.name), None)
    if found is None:
        return None
    place = location(found, [tree])
    name = str(found.name)
    return MissingModule(name) if place is None else MissingModule(name, place.path, place.line)


@dataclass
class PathRun:
    """The result of one path, filled in as its steps run."""

    name: str
    started: float
    ok: bool = True
    failed_step: StepAt | None = None
    error: str | None = None
    error_type: str | None = None
    revision: str | None = None
    location: Location | None = None
    sql: str | None = None
    missing_module: MissingModule | None = None
    ran: list[str] = field(default_factory=list)
    steps: list[StepRun] = field(default_factory=list)
    schemas: dict[str, Json] = field(default_factory=dict)

    def fail(
        self,
        step: StepAt,
        exc: BaseException,
        revision: str | None,
        roots: Sequence[str],
        tree: str,
    ) -> None:
        """Record the failure of ``step``: ``roots`` hold the migrations (where the
        failure is placed), ``tree`` is the project (where a missing import is)."""
        self.ok = False
        self.missing_module = missing_module(exc, tree)
        self.failed_step = step
        self.error_type, self.error = describe(exc)
        self.revision = revision
        self.location = location(exc, roots)
        statement = next((e.statement for e in chain(exc) if isinstance(e, StatementError)), None)
        self.sql = statement.strip()[:2000] if statement else None

    def result(self) -> PathResult:
        return PathResult(
            name=self.name,
            ok=self.ok,
            failed_step=self.failed_step,
            error=self.error,
            error_type=self.error_type,
            revision=self.revision,
            location=self.location,
            sql=self.sql,
            missing_module=self.missing_module,
            ran=tuple(self.ran),
            steps=tuple(self.steps),
            schemas=self.schemas,
            seconds=round(time.monotonic() - self.started, 3),
        )


def not_run(name: str, why: str) -> PathResult:
    run = PathRun(name, time.monotonic(), ok=False, error=why, error_type="NotRun")
    return run.result()
