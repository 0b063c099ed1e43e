"""What a deployed database's version table means for a revision graph: the
revisions it has applied, what ``alembic upgrade heads`` would run on it, and
its state (``mergeguard status``).

Pure: revision ids and a RevisionGraph in, revision ids out.  The reading of
the database itself is the edge's (mergeguard/databases/).
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping

from mergeguard.graph.revisions import RevisionGraph
from mergeguard.model import DatabaseReading, DatabaseStatus


def applied_revisions(graph: RevisionGraph, current: Iterable[str]) -> frozenset[str]:
    """Every revision a database whose version table holds ``current`` has
    applied, as Alembic sees it: those rows and all their ancestors in
    ``graph`` (``depends_on`` included).  Rows ``graph`` lacks are left out
    (the database is stranded on them)."""
    return frozenset(graph.ancestors(revision for revision in current if revision in graph))


def classify(graph: RevisionGraph, reading: DatabaseReading) -> DatabaseStatus:
    """``reading`` judged against ``graph`` (the target history):

    - ``unreachable``: it could not be read (``reading.error``);
    - ``stranded``: a current revision is not in ``graph`` (Alembic's
      ``upgrade`` would fail with "Can't locate revision"); ``refs`` are the
      branches the reader found holding those revisions;
    - ``empty``: no version table, or one without rows (nothing applied):
      ``pending`` is the whole history;
    - ``behind``: ``pending`` is what ``alembic upgrade heads`` runs, in order;
    - ``up-to-date``: nothing to run.
    """
    if reading.error is not None:
        return DatabaseStatus(reading, "unreachable")
    current = reading.current or ()
    stranded = tuple(revision for revision in current if revision not in graph)
    if stranded:
        held = dict(reading.refs)
        refs = tuple(dict.fromkeys(ref for revision in stranded for ref in held.get(revision, ())))
        return DatabaseStatus(reading, "stranded", stranded=stranded, refs=refs)
    pending = upgrade_order(graph, current)
    if not current:
        return DatabaseStatus(reading, "empty", pending=pending)
    return DatabaseStatus(reading, "behind" if pending else "up-to-date", pending=pending)


# -- alembic upgrade heads ------------------------------------------------------------


def upgrade_order(graph: RevisionGraph, current: Iterable[str]) -> tuple[str, ...]:
    """The revisions ``alembic upgrade heads`` runs on a database whose version
    table holds ``current``, in the order it runs them.

    A port of ``ScriptDirectory._upgrade_revs("heads", current)``: the
    revisions the effective heads need (ancestors, ``depends_on`` included)
    less those ``current`` already has, in the reverse of
    ``RevisionMap._topological_sort`` (which walks down from the heads,
    branch by branch, in the map's key order: the load order ``graph.order``
    keeps).  Rows ``graph`` lacks are ignored (Alembic refuses to run then:
    see ``classify``).  On a graph with cycles (MG005), where Alembic cannot
    build its map, the needed revisions in ``graph.topological()`` order.
    """
    known = [revision for revision in current if revision in graph]
    done = graph.ancestors(known)
    targets = graph.effective_heads
    needs = graph.ancestors(targets) - done
    if not needs:
        return ()
    if graph.has_cycles:
        return tuple(r for r in graph.topological() if r in needs)
    return tuple(reversed(_TopologicalSort(graph).walk(needs, targets)))


class _TopologicalSort:
    """``RevisionMap._topological_sort``, step for step: which branch it walks
    down next decides the order sibling branches are upgraded in."""

    def __init__(self, graph: RevisionGraph) -> None:
        self.graph = graph
        self.position = {revision: index for index, revision in enumerate(graph.order)}
        self._normalized: dict[str, tuple[str, ...]] = {}

    def walk(self, needs: set[str], targets: Iterable[str]) -> list[str]:
        todo = set(needs)
        heads = sorted({t for t in targets if t in todo}, key=self.position.__getitem__)
        ancestors = [self.graph.ancestors([head]) for head in heads]
        output: list[str] = []
        index = 0
        # each pass emits a revision, moves a branch down or switches branch;
        # a switch happens at most once per branch per emitted revision
        budget = (len(todo) + 1) * (len(self.graph) + 2) + 16
        while heads and budget > 0:
            budget -= 1
            candidate = heads[index]
            waiting = next(
                (i for i, seen in enumerate(ancestors) if i != index and candidate in seen),
                None,
            )
            if waiting is not None:  # another branch needs it: walk that one first
                index = waiting
                continue
            if candidate in todo:
                output.append(candidate)
                todo.remove(candidate)
            below = [r for r in self.normalized_down(candidate) if r in todo and r not in heads]
            if not below:
                del heads[index]
                del ancestors[index]
                index = max(index - 1, 0)
            elif self.is_plain_step(candidate):
                heads[index] = below[0]
                ancestors[index].discard(candidate)
            else:
                heads[index] = below[0]
                heads.extend(below[1:])
                ancestors[index] = self.graph.ancestors([below[0]])
                ancestors.extend(self.graph.ancestors([r]) for r in below[1:])
        if todo:  # unreachable on a graph Alembic accepts; never loop, never lose one
            output.extend(r for r in reversed(self.graph.topological()) if r in todo)
        return output

    def is_plain_step(self, revision: str) -> bool:
        """One ``down_revision`` and no dependency left after normalising."""
        script = self.graph.script(revision)
        return len(script.down_revisions) == 1 and not self.normalized_dependencies(revision)

    def normalized_down(self, revision: str) -> tuple[str, ...]:
        """``Revision._normalized_down_revisions``: the parents, then the
        dependencies no ``down_revision`` ancestor already depends on."""
        down = self.graph.links.down[revision]
        return tuple(dict.fromkeys(down + self.normalized_dependencies(revision)))

    def normalized_dependencies(self, revision: str) -> tuple[str, ...]:
        found = self._normalized.get(revision)
        if found is None:
            found = self._normalized[revision] = self._normalize(revision)
        return found

    def _normalize(self, revision: str) -> tuple[str, ...]:
        resolved = self.resolved_dependencies(revision)
        if not resolved:
            return ()
        # a set, as Alembic's: its order is Alembic's order for a revision
        # with several dependencies left (which varies with the hash seed)
        normalized = set(resolved)
        for ancestor in self.graph.ancestors([revision], dependencies=False):
            if ancestor != revision:
                normalized.difference_update(self.resolved_dependencies(ancestor))
        return tuple(normalized)

    def resolved_dependencies(self, revision: str) -> tuple[str, ...]:
        """``depends_on`` as Alembic resolves it (labels to their revision),
        keeping those that are also a ``down_revision`` (the graph's links
        drop them, Alembic's normalising does not)."""
        owners: Mapping[str, str] = self.graph.label_owners
        names = self.graph.script(revision).depends_on
        found = (name if name in self.graph else owners.get(name) for name in names)
        return tuple(name for name in found if name is not None)


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
