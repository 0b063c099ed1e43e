"""What a deployed database's version table means for a revision graph: the
revisions it has applied, and what ``alembic upgrade heads`` would run on it.

Pure: revision ids and a RevisionGraph in, revision ids out.  The reading of
the database itself is the edge's (mergeguard/databases/).
"""

from __future__ import annotations

from collections.abc import Container, Iterable

from mergeguard.graph.revisions import RevisionGraph


def applied_revisions(graph: RevisionGraph, current: Iterable[str]) -> frozenset[str]:
    """Every revision a database whose version table holds ``current`` has
    applied, as Alembic sees it: those rows and all their ancestors in
    ``graph`` (``depends_on`` included).  Rows ``graph`` lacks are left out
    (the database is stranded on them)."""
    return frozenset(graph.ancestors(revision for revision in current if revision in graph))


# -- helpers of MG401 / MG402 (rules/) -------------------------------------------------


def nearest_kept(holder: RevisionGraph, revision: str, target: Container[str]) -> tuple[str, ...]:
    """The nearest ancestors of ``revision`` in ``holder`` (the graph of a
    branch that has it) that ``target`` (the ids of the history a database
    must return to) also has: where ``alembic downgrade`` takes the database
    back to, in ``holder``'s order.  Empty when none is kept (down to base)."""
    common = {r for r in holder.ancestors([revision], dependencies=False) if r in target}
    parents = [parent for found in common for parent in holder.nodes[found].down]
    below = holder.ancestors(parents, dependencies=False)
    return tuple(r for r in holder.order if r in common and r not in below)
