"""What the deployed databases (``scenario.databases``) say about a fix.

A rebase re-points revisions: refused when a database has applied one of
them (Alembic would then skip, on that database, the revisions the chain
now sits on), and when a database could not be read (nobody can tell).
A merge revision changes nothing applied; what it tells is which databases
will run it, and what before it, on their next ``alembic upgrade heads``.
"""

from __future__ import annotations

from collections.abc import Mapping

from mergeguard.graph.deployed import applied_revisions
from mergeguard.graph.revisions import RevisionGraph
from mergeguard.graph.scenario import MergeScenario
from mergeguard.model import DatabaseReading
from mergeguard.rules.databases import downgrade_below, readings_of, rows_of


def rebase_refusals(
    scenario: MergeScenario,
    env: str,
    graph: RevisionGraph,
    moves: Mapping[str, tuple[str, ...]],
) -> list[str]:
    """Why the moves of ``env`` must not be made: one reason per database
    that applied a moved revision (or any revision above it: the moved ones
    are the roots of the chain) or that could not be read."""
    refusals = []
    for reading in readings_of(scenario, env):
        if reading.error is not None:
            refusals.append(
                f"database {reading.name} could not be read ({reading.error}): mergeguard "
                f"cannot tell whether it applied {', '.join(moves)}; run again when it "
                "answers, or pass --no-databases if it never ran this branch"
            )
            continue
        rows = rows_of(reading)
        applied = applied_revisions(graph, rows)
        moved = [r for r in moves if r in applied]
        if moved:
            refusals.append(_applied(graph, moves, reading, rows, moved[0], applied))
    return refusals


def _applied(
    graph: RevisionGraph,
    moves: Mapping[str, tuple[str, ...]],
    reading: DatabaseReading,
    rows: tuple[str, ...],
    revision: str,
    applied: frozenset[str],
) -> str:
    """Why re-pointing ``revision`` harms this database: Alembic would take
    revisions it never ran as applied and skip them, or (when it ran them
    too) find its version table naming a revision and its own ancestor."""
    skipped = [r for r in graph.order if r in _ancestors_after(graph, moves, rows) - applied]
    if skipped:
        harm = (
            f"Alembic would take {_listed(tuple(skipped))} as applied there and skip "
            f"{'them' if len(skipped) > 1 else 'it'}"
        )
    else:
        harm = (
            "its version table would name a revision and its own new ancestor, which "
            'Alembic refuses ("Requested revision ... overlaps with other requested revisions")'
        )
    row = next(r for r in rows if r in graph and revision in graph.ancestors([r]))
    below = downgrade_below(row, graph.script(revision))
    return (
        f"database {reading.name} has applied revision {revision} (its version table holds "
        f"{', '.join(rows)}): re-pointed onto {', '.join(moves[revision])}, {harm}; use "
        f"`mergeguard fix --merge` instead, or first take {reading.name} below it "
        f"(`{below}`) and run fix --rebase again"
    )


def _ancestors_after(
    graph: RevisionGraph, moves: Mapping[str, tuple[str, ...]], rows: tuple[str, ...]
) -> set[str]:
    """What Alembic would count as applied for ``rows`` once ``moves``
    (revision -> its new parents) are made: their ancestors in the new graph."""
    seen: set[str] = set()
    todo = [row for row in rows if row in graph]
    while todo:
        revision = todo.pop()
        if revision in seen:
            continue
        seen.add(revision)
        node = graph.nodes[revision]
        todo.extend(moves.get(revision, node.down))
        todo.extend(node.deps)
    return seen


MAX_PENDING_SHOWN = 6  # revisions listed in one line before they are counted


def merge_runs(scenario: MergeScenario, env: str, graph: RevisionGraph, merge: str) -> list[str]:
    """For each database of ``env``: what its next ``alembic upgrade heads``
    runs up to the merge revision ``merge`` in ``graph`` (the history with
    the merge file), or why it will not run it."""
    from mergeguard.graph.deployed import upgrade_order

    lines = []
    for reading in readings_of(scenario, env):
        if reading.error is not None:
            lines.append(f"database {reading.name} could not be read ({reading.error})")
            continue
        rows = rows_of(reading)
        lost = [row for row in rows if row not in graph]
        if lost:
            lines.append(
                f"database {reading.name} is stranded on {', '.join(lost)} (MG401): it cannot "
                f"run merge revision {merge} until it is downgraded onto this history"
            )
            continue
        pending = upgrade_order(graph, rows)
        if merge not in pending:
            continue
        before = pending[: pending.index(merge)]
        then = f"{_listed(before)}, then " if before else ""
        lines.append(
            f"database {reading.name} will run {then}merge revision {merge} on its next "
            "`alembic upgrade heads`"
        )
    return lines


def _listed(revisions: tuple[str, ...]) -> str:
    """``c3, d4`` / ``a1, b2, c3 ... z9 (40 revisions)``."""
    if len(revisions) <= MAX_PENDING_SHOWN:
        return ", ".join(revisions)
    shown = ", ".join(revisions[:3])
    return f"{shown} ... {revisions[-1]} ({len(revisions)} revisions)"
