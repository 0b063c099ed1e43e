"""The revision graph, with Alembic's semantics (alembic/script/revision.py):
what a built graph holds and answers (walks, topological order, identifier
resolution).  ``graph.building.build`` makes one from migration facts.

Vocabulary (Alembic's):

- ``heads``: revisions no ``down_revision`` points at (``RevisionMap.heads``);
- ``effective_heads``: revisions neither a ``down_revision`` nor a
  ``depends_on`` points at (``RevisionMap._real_heads``, what
  ``alembic upgrade heads`` targets);
- ``bases``: revisions whose ``down_revision`` is None;
- branch labels apply to the declaring revision, its descendants, and its
  ancestors back to the previous branch point (``RevisionMap._add_branches``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from mergeguard.model import Location, MigrationScript, Span


class RevisionLookupError(LookupError):
    """An identifier (``abcd``, ``label@head``) that names nothing, or several."""


@dataclass(frozen=True, slots=True)
class Node:
    """One revision placed in the graph.

    ``down`` and ``deps`` hold only ids present in the graph (missing ones are
    MG004 diagnostics); ``children`` follow ``down_revision`` only,
    ``dependents`` follow ``depends_on`` only.  ``labels`` are the branch
    labels after Alembic's propagation.
    """

    script: MigrationScript
    down: tuple[str, ...]
    deps: tuple[str, ...]
    children: tuple[str, ...]
    dependents: tuple[str, ...]
    labels: frozenset[str]

    @property
    def revision(self) -> str:
        return self.script.revision

    @property
    def is_merge_point(self) -> bool:
        return len(self.script.down_revisions) > 1

    @property
    def is_branch_point(self) -> bool:
        return len(self.children) > 1


@dataclass(frozen=True, slots=True)
class RevisionGraph:
    """An immutable revision graph of one environment at one snapshot."""

    environment: str
    order: tuple[str, ...]
    nodes: Mapping[str, Node]
    heads: tuple[str, ...]
    effective_heads: tuple[str, ...]
    bases: tuple[str, ...]
    label_owners: Mapping[str, str]
    cyclic: frozenset[str] = frozenset()
    memo: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False, repr=False)

    def __contains__(self, revision: object) -> bool:
        return revision in self.nodes

    def __len__(self) -> int:
        return len(self.order)

    def script(self, revision: str) -> MigrationScript:
        return self.nodes[revision].script

    def labels(self, revision: str) -> frozenset[str]:
        return self.nodes[revision].labels

    @property
    def has_cycles(self) -> bool:
        """True when some revision is on a cycle or names itself (MG005)."""
        return bool(self.cyclic)

    @property
    def branch_points(self) -> tuple[str, ...]:
        return tuple(r for r in self.order if self.nodes[r].is_branch_point)

    @property
    def merge_points(self) -> tuple[str, ...]:
        return tuple(r for r in self.order if self.nodes[r].is_merge_point)

    def ancestors(self, revisions: Iterable[str], *, dependencies: bool = True) -> set[str]:
        """Every revision reachable downwards from ``revisions`` (themselves included)."""
        return _reach(self, revisions, lambda n: n.down + (n.deps if dependencies else ()))

    def descendants(self, revisions: Iterable[str], *, dependencies: bool = True) -> set[str]:
        """Every revision reachable upwards from ``revisions`` (themselves included)."""
        return _reach(
            self, revisions, lambda n: n.children + (n.dependents if dependencies else ())
        )

    def topological(self) -> tuple[str, ...]:
        """All revisions, each after its parents and dependencies (load order
        breaks ties); revisions on a cycle come last, in load order."""
        found = self.memo.get("topological")
        if found is None:
            found = self.memo["topological"] = self._topological()
        return found

    def _topological(self) -> tuple[str, ...]:
        pending = {r: len(set(n.down) | set(n.deps)) for r, n in self.nodes.items()}
        position = {r: i for i, r in enumerate(self.order)}
        ready = sorted((r for r, count in pending.items() if count == 0), key=position.__getitem__)
        result: list[str] = []
        while ready:
            revision = ready.pop(0)
            result.append(revision)
            node = self.nodes[revision]
            for child in sorted(
                set(node.children) | set(node.dependents), key=position.__getitem__
            ):
                pending[child] -= 1
                if pending[child] == 0:
                    ready.append(child)
            ready.sort(key=position.__getitem__)
        placed = set(result)
        return tuple(result) + tuple(r for r in self.order if r not in placed)

    def resolve(self, identifier: str) -> tuple[str, ...]:
        """Revision ids named by ``identifier`` the way ``alembic`` resolves
        arguments: ``heads``, ``head``, ``base``, a label, a (partial) id,
        ``label@head``, ``label@id``.  Raises RevisionLookupError."""
        return _Resolver(self).resolve(identifier)


def _reach(graph: RevisionGraph, start: Iterable[str], step: object) -> set[str]:
    seen: set[str] = set()
    todo = [r for r in start if r in graph.nodes]
    while todo:
        revision = todo.pop()
        if revision in seen:
            continue
        seen.add(revision)
        todo.extend(step(graph.nodes[revision]))  # type: ignore[operator]
    return seen


# -- identifier resolution -----------------------------------------------------


class _Resolver:
    """Alembic's ``RevisionMap.get_revisions`` for single identifiers."""

    def __init__(self, graph: RevisionGraph) -> None:
        self.graph = graph

    def keys(self) -> list[str]:
        return list(self.graph.order) + list(self.graph.label_owners)

    def resolve(self, identifier: str) -> tuple[str, ...]:
        branch, _, ident = identifier.rpartition("@") if "@" in identifier else ("", "", identifier)
        if ident == "heads":
            return (
                self.filter_lineage(self.graph.heads, branch)
                if branch
                else self.graph.effective_heads
            )
        if ident == "head":
            heads = self.filter_lineage(self.graph.heads, branch) if branch else self.graph.heads
            if len(heads) > 1:
                arg = f"{branch}@head" if branch else "head"
                raise RevisionLookupError(
                    f"Multiple heads are present for given argument '{arg}'; {', '.join(heads)}"
                )
            return heads
        if ident == "base" or ident == "":
            return ()
        return (self.one(ident, branch or None),)

    def one(self, ident: str, branch: str | None) -> str:
        branch_rev = self.branch_revision(branch) if branch else None
        if ident in self.graph.nodes:
            revision = ident
        elif ident in self.graph.label_owners:
            revision = self.graph.label_owners[ident]
        else:
            revision = self.partial(ident, branch)
        if branch_rev is not None and not self.shares_lineage(revision, branch_rev):
            raise RevisionLookupError(f"Revision {revision} is not a member of branch '{branch}'")
        return revision

    def partial(self, ident: str, branch: str | None) -> str:
        matches = [k for k in self.keys() if len(k) > 3 and k.startswith(ident)]
        if branch:
            owners = self.graph.label_owners
            anchor = self.branch_revision(branch)
            matches = [m for m in matches if self.shares_lineage(owners.get(m, m), anchor)]
        if not matches:
            short = (
                (
                    "; please ensure at least four characters are present for partial "
                    "revision identifier matches"
                )
                if len(ident) < 4
                else ""
            )
            raise RevisionLookupError(f"No such revision or branch '{ident}'{short}")
        if len(matches) > 1:
            shown = ", ".join(f"'{m}'" for m in matches[:3])
            raise RevisionLookupError(f"Multiple revisions start with '{ident}': {shown}...")
        key = matches[0]
        return self.graph.label_owners.get(key, key)

    def branch_revision(self, branch: str) -> str:
        if branch in self.graph.label_owners:
            return self.graph.label_owners[branch]
        try:
            return self.one(branch, None)
        except RevisionLookupError as exc:
            raise RevisionLookupError(f"No such branch: '{branch}'") from exc

    def filter_lineage(self, targets: tuple[str, ...], branch: str) -> tuple[str, ...]:
        anchor = self.branch_revision(branch)
        return tuple(t for t in targets if self.shares_lineage(t, anchor))

    def shares_lineage(self, target: str, anchor: str) -> bool:
        graph = self.graph
        return anchor in graph.ancestors(
            [target], dependencies=False
        ) or anchor in graph.descendants([target], dependencies=False)


def location_of(script: MigrationScript) -> Location:
    """Where a finding about ``script`` points: its ``down_revision`` line."""
    span = script.spans.down_revision or script.spans.revision or Span(1)
    return Location(PurePosixPath(script.path), span.line, span.column)
