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

from collections.abc import Iterable, Iterator, Mapping, Sequence
from heapq import heappop, heappush
from pathlib import PurePosixPath

from mergeguard.model import Location, MigrationScript, Span, field, frozen

NO_LABELS: frozenset[str] = frozenset()


class RevisionLookupError(LookupError):
    """An identifier (``abcd``, ``label@head``) that names nothing, or several."""


@frozen
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


@frozen
class Links:
    """The graph's edges by revision id, as ``build`` computed them: what each
    ``Node`` is made of, and what the walks below read directly."""

    scripts: Mapping[str, MigrationScript]
    down: Mapping[str, tuple[str, ...]]
    deps: Mapping[str, tuple[str, ...]]
    children: Mapping[str, tuple[str, ...]]
    dependents: Mapping[str, tuple[str, ...]]
    labels: Mapping[str, frozenset[str]]  # only the revisions that carry a label


class NodeMap(Mapping[str, Node]):
    """Revision id -> ``Node``, in load order, each made on first use: a check
    asks for the nodes of a few heads, not of every revision of the history."""

    __slots__ = ("links", "_made")

    def __init__(self, links: Links) -> None:
        self.links = links
        self._made: dict[str, Node] = {}

    def __getitem__(self, revision: str) -> Node:
        node = self._made.get(revision)
        if node is None:
            links = self.links
            node = self._made[revision] = Node(
                links.scripts[revision],
                links.down[revision],
                links.deps[revision],
                links.children[revision],
                links.dependents[revision],
                links.labels.get(revision, NO_LABELS),
            )
        return node

    def __contains__(self, revision: object) -> bool:
        return revision in self.links.scripts

    def __iter__(self) -> Iterator[str]:
        return iter(self.links.scripts)

    def __len__(self) -> int:
        return len(self.links.scripts)


class GraphMemo:
    """Facts of a graph computed once, on first use (``build`` fills in the
    topological order it computes anyway).  State, not a value: compared by
    identity and never printed (the graph leaves it out of its own ``==`` and
    repr), so a plain slotted class, not a dataclass."""

    __slots__ = ("topological", "position", "merge_points", "branch_points")

    def __init__(
        self,
        topological: tuple[str, ...] | None = None,
        position: dict[str, int] | None = None,
        merge_points: tuple[str, ...] | None = None,
        branch_points: tuple[str, ...] | None = None,
    ) -> None:
        self.topological = topological
        self.position = position
        self.merge_points = merge_points
        self.branch_points = branch_points


@frozen
class RevisionGraph:
    """An immutable revision graph of one environment at one snapshot."""

    environment: str
    order: tuple[str, ...]
    nodes: NodeMap
    heads: tuple[str, ...]
    effective_heads: tuple[str, ...]
    bases: tuple[str, ...]
    label_owners: Mapping[str, str]
    cyclic: frozenset[str] = frozenset()
    memo: GraphMemo = field(default_factory=GraphMemo, compare=False, repr=False)

    def __contains__(self, revision: object) -> bool:
        return revision in self.nodes.links.scripts

    def __len__(self) -> int:
        return len(self.order)

    @property
    def links(self) -> Links:
        return self.nodes.links

    def script(self, revision: str) -> MigrationScript:
        return self.nodes.links.scripts[revision]

    def labels(self, revision: str) -> frozenset[str]:
        links = self.nodes.links
        found = links.labels.get(revision)
        if found is None and revision not in links.scripts:
            raise KeyError(revision)
        return NO_LABELS if found is None else found

    @property
    def has_cycles(self) -> bool:
        """True when some revision is on a cycle or names itself (MG005)."""
        return bool(self.cyclic)

    @property
    def branch_points(self) -> tuple[str, ...]:
        if self.memo.branch_points is None:
            children = self.nodes.links.children
            self.memo.branch_points = tuple(r for r in self.order if len(children[r]) > 1)
        return self.memo.branch_points

    @property
    def merge_points(self) -> tuple[str, ...]:
        if self.memo.merge_points is None:
            scripts = self.nodes.links.scripts
            self.memo.merge_points = tuple(
                r for r in self.order if len(scripts[r].down_revisions) > 1
            )
        return self.memo.merge_points

    def ancestors(self, revisions: Iterable[str], *, dependencies: bool = True) -> set[str]:
        """Every revision reachable downwards from ``revisions`` (themselves included)."""
        links = self.nodes.links
        return _reach(links.scripts, revisions, links.down, links.deps if dependencies else None)

    def descendants(self, revisions: Iterable[str], *, dependencies: bool = True) -> set[str]:
        """Every revision reachable upwards from ``revisions`` (themselves included)."""
        links = self.nodes.links
        return _reach(
            links.scripts, revisions, links.children, links.dependents if dependencies else None
        )

    def topological(self) -> tuple[str, ...]:
        """All revisions, each after its parents and dependencies (load order
        breaks ties); revisions on a cycle come last, in load order."""
        if self.memo.topological is None:
            links = self.nodes.links
            placed = topological_order(self.order, links)
            seen = set(placed)
            self.memo.topological = placed + tuple(r for r in self.order if r not in seen)
        return self.memo.topological

    def position(self) -> Mapping[str, int]:
        """Revision -> its index in ``topological()`` (a parent's is smaller)."""
        if self.memo.position is None:
            self.memo.position = {r: i for i, r in enumerate(self.topological())}
        return self.memo.position

    def resolve(self, identifier: str) -> tuple[str, ...]:
        """Revision ids named by ``identifier`` the way ``alembic`` resolves
        arguments: ``heads``, ``head``, ``base``, a label, a (partial) id,
        ``label@head``, ``label@id``.  Raises RevisionLookupError."""
        return _Resolver(self).resolve(identifier)


def topological_order(order: Sequence[str], links: Links) -> tuple[str, ...]:
    """Kahn's algorithm, the ready revision first in ``order`` going first
    (a heap of load positions); revisions on or above a cycle are left out."""
    position = dict(zip(order, range(len(order)), strict=True))
    down, deps = links.down, links.deps
    pending = {r: len(down[r]) + len(deps[r]) for r in order}
    ready = [position[r] for r in order if not pending[r]]
    children, dependents = links.children, links.dependents
    result: list[str] = []
    while ready:
        revision = order[heappop(ready)]
        result.append(revision)
        for child in children[revision]:
            pending[child] -= 1
            if not pending[child]:
                heappush(ready, position[child])
        for child in dependents[revision]:
            pending[child] -= 1
            if not pending[child]:
                heappush(ready, position[child])
    return tuple(result)


def _reach(
    known: Mapping[str, object],
    start: Iterable[str],
    step: Mapping[str, tuple[str, ...]],
    also: Mapping[str, tuple[str, ...]] | None,
) -> set[str]:
    seen = {r for r in start if r in known}
    todo = list(seen)
    while todo:
        revision = todo.pop()
        for other in step[revision]:
            if other not in seen:
                seen.add(other)
                todo.append(other)
        if also is not None:
            for other in also[revision]:
                if other not in seen:
                    seen.add(other)
                    todo.append(other)
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
