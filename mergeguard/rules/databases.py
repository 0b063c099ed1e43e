"""What the deployed-database rules (MG401-MG403) share: the readings of one
environment, the sides that may hold a revision, and the files a side could
not read (a revision missing from a graph because its file is broken is not
evidence of anything)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import PurePosixPath

from mergeguard.graph.deployed import applied_revisions
from mergeguard.graph.revisions import RevisionGraph
from mergeguard.graph.scenario import MERGE, MergeScenario, Side
from mergeguard.model import DatabaseReading, MigrationScript

# findings that mean a file's revision id may be unknown to the graph
_UNREAD = frozenset({"MG001", "MG002"})


def readings_of(scenario: MergeScenario, env: str) -> list[DatabaseReading]:
    """The databases of environment ``env`` (in the order they were configured)."""
    return [reading for reading in scenario.databases if reading.environment == env]


def rows_of(reading: DatabaseReading) -> tuple[str, ...]:
    """The revisions a database's version table holds (none when it has no
    version table, an empty one, or could not be read)."""
    return reading.current or ()


def unread_paths(side: Side, env: str) -> frozenset[PurePosixPath] | None:
    """The files of ``env`` that ``side`` could not read a revision id from;
    None when the side has no such environment."""
    read = side.reads.get(env)
    if read is None:
        return None
    return frozenset(
        d.location.path for d in read.diagnostics if d.code in _UNREAD and d.location is not None
    )


def refs_holding(reading: DatabaseReading, revision: str) -> tuple[str, ...]:
    """The branches the reading names as holding ``revision``."""
    return next((refs for found, refs in reading.refs if found == revision), ())


def holder_of(
    scenario: MergeScenario, env: str, reading: DatabaseReading, revision: str
) -> Side | None:
    """The nearest side that has ``revision``: the checked branch, the other
    side, the merge base, a ``published`` ref, then the branches the reading
    names (each read only when asked); None when none has it."""
    for side in (scenario.ours, scenario.theirs, scenario.base, *scenario.published.sides()):
        if revision in side.scripts(env):
            return side
    for ref in refs_holding(reading, revision):
        found = scenario.database_refs.side(ref)
        if found is not None and revision in found.scripts(env):
            return found
    return None


def names(databases: Iterable[str]) -> str:
    """``database staging`` / ``databases dev, staging``."""
    listed = sorted(set(databases))
    return f"database{'s' * (len(listed) > 1)} {', '.join(listed)}"


def downgrade_below(row: str, script: MigrationScript) -> str:
    """The command that takes a database whose version table holds ``row``
    to just below ``script`` (an ancestor of ``row``), leaving its other
    heads alone: ``alembic downgrade ROW@PARENT`` (``@base`` for a root)."""
    parent = script.down_revisions[0] if script.down_revisions else "base"
    return f"alembic downgrade {row}@{parent}"


def applied_among(
    scenario: MergeScenario, env: str, graph: RevisionGraph, revisions: Iterable[str]
) -> str | None:
    """``database dev has applied b2`` when a database of ``env`` has applied
    (as ``graph`` places them) some of ``revisions``: a hint must not offer to
    re-point those with ``fix --rebase`` (it would refuse).  None otherwise."""
    wanted = set(revisions)
    for reading in readings_of(scenario, env):
        hit = wanted & applied_revisions(graph, rows_of(reading))
        if hit:
            return f"database {reading.name} has applied {', '.join(sorted(hit))}"
    return None


def history_name(scenario: MergeScenario, side: Side) -> str:
    """How a finding names the history to be deployed: ``the merge of main
    and feature``, ``the working tree``, ``feature (1a2b3c4)``."""
    if side is scenario.merged and side is not scenario.ours:
        if scenario.kind == MERGE:
            return "the merge in progress"
        return f"the merge of {_named(scenario.theirs)} and {_named(scenario.ours)}"
    return _named(side) if side.sha is None else side.title


def _named(side: Side) -> str:
    """A ref's label as it is; the working tree or the index with an article."""
    return f"the {side.label}" if side.sha is None else side.label
