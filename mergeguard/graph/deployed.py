"""What a deployed database's version table means for a revision graph: the
revisions it has applied, and what ``alembic upgrade heads`` would run on it.

Pure: revision ids and a RevisionGraph in, revision ids out.  The reading of
the database itself is the edge's (mergeguard/databases/).
"""

from __future__ import annotations

from collections.abc import Iterable

from mergeguard.graph.revisions import RevisionGraph


def applied_revisions(graph: RevisionGraph, current: Iterable[str]) -> frozenset[str]:
    """Every revision a database whose version table holds ``current`` has
    applied, as Alembic sees it: those rows and all their ancestors in
    ``graph`` (``depends_on`` included).  Rows ``graph`` lacks are left out
    (the database is stranded on them)."""
    return frozenset(graph.ancestors(revision for revision in current if revision in graph))
