"""The revision graph, with Alembic's semantics (alembic/script/revision.py).

``build(scripts)`` is pure: migration facts in, an immutable ``RevisionGraph``
and the integrity diagnostics (MG003-MG007) out, all of them in one pass
instead of Alembic's first exception.  Alembic's ``RevisionMap`` is the test
oracle: heads, effective heads, bases, branch labels and identifier
resolution must agree with it on every graph.

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

import difflib
import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from types import MappingProxyType

from mergeguard.model import Diagnostic, Location, MigrationScript, Span
from mergeguard.rules.catalogue import diagnostic

ILLEGAL_ID_CHARS = frozenset("@-+:")
_NO_LABELS: frozenset[str] = frozenset()
# Missing parents of one field reported one by one; the rest share a finding.
_MAX_MISSING_REPORTED = 20
# Bounds of the "did you mean" search of an MG004 hint.
_MAX_HINT_ID_CHARS = 200
_MAX_HINT_CANDIDATES = 5_000


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


# -- building ------------------------------------------------------------------


def build(
    scripts: Sequence[MigrationScript], environment: str = ""
) -> tuple[RevisionGraph, tuple[Diagnostic, ...]]:
    """The graph of ``scripts`` (in Alembic's load order) and its problems."""
    builder = _Builder(environment)
    return builder.build(scripts)


class _Builder:
    def __init__(self, environment: str) -> None:
        self.environment = environment
        self.problems: list[Diagnostic] = []
        self.on_cycles: set[str] = set()  # revisions on a cycle or naming themselves

    def report(
        self,
        code: str,
        message: str,
        script: MigrationScript | None,
        span: Span | None = None,
        **kwargs: object,
    ) -> None:
        location = None
        if script is not None:
            span = span or script.spans.revision or Span(1)
            location = Location(script.path, span.line, span.column)
        self.problems.append(
            diagnostic(
                code,
                message,
                location,
                environment=self.environment,
                **kwargs,  # type: ignore[arg-type]
            )
        )

    def build(
        self, scripts: Sequence[MigrationScript]
    ) -> tuple[RevisionGraph, tuple[Diagnostic, ...]]:
        by_id = self.unique_scripts(scripts)
        label_owners = self.label_owners(by_id)
        down, deps = self.edges(by_id, label_owners, scripts)
        children, dependents = _invert(by_id, down), _invert(by_id, deps)
        self.cycles(by_id, down, deps)
        order = tuple(by_id)
        labels = _propagate_labels(order, by_id, down, children, dependents)
        nodes = {
            r: Node(
                by_id[r],
                down[r],
                deps[r],
                children[r],
                dependents[r],
                frozenset(labels[r]) if labels[r] else _NO_LABELS,
            )
            for r in order
        }
        graph = RevisionGraph(
            environment=self.environment,
            order=order,
            nodes=MappingProxyType(nodes),
            heads=tuple(r for r in order if not children[r]),
            effective_heads=tuple(r for r in order if not children[r] and not dependents[r]),
            bases=tuple(r for r in order if not by_id[r].down_revisions),
            label_owners=MappingProxyType(label_owners),
            cyclic=frozenset(self.on_cycles),
        )
        return graph, tuple(self.problems)

    def unique_scripts(self, scripts: Sequence[MigrationScript]) -> dict[str, MigrationScript]:
        """Scripts by id; a later file with the same id replaces the earlier one,
        as Alembic's map does (MG003 names both)."""
        by_id: dict[str, MigrationScript] = {}
        for script in scripts:
            self.check_id(script)
            earlier = by_id.pop(script.revision, None)
            if earlier is not None:
                self.report(
                    "MG003",
                    f"revision {script.revision} is declared by both {earlier.path} and "
                    f"{script.path}; Alembic keeps only one of them",
                    script,
                    revisions=(script.revision,),
                    hint=f"give one of them a new id (`alembic revision` makes one) and "
                    f"re-point its children; or delete the copy in {script.path}",
                )
            by_id[script.revision] = script
        return by_id

    def check_id(self, script: MigrationScript) -> None:
        bad = sorted(ILLEGAL_ID_CHARS.intersection(script.revision))
        if bad or not script.revision:
            what = f"character(s) {', '.join(repr(c) for c in bad)}" if bad else "an empty id"
            self.report(
                "MG007",
                f"revision id {script.revision!r} in {script.path} has {what}, which Alembic "
                'rejects ("not allowed in revision identifier")',
                script,
                revisions=(script.revision,),
                hint="use letters, digits and underscores (alembic revision makes 12 hex digits)",
            )

    def label_owners(self, by_id: Mapping[str, MigrationScript]) -> dict[str, str]:
        owners: dict[str, str] = {}
        for revision, script in by_id.items():
            for label in script.branch_labels:
                if label in by_id:
                    self.report(
                        "MG006",
                        f"branch label {label!r} of revision {revision} is also a revision id "
                        f"({by_id[label].path}); labels and ids share one namespace",
                        script,
                        script.spans.branch_labels,
                        revisions=(revision, label),
                        hint="rename the branch label",
                    )
                elif label in owners:
                    self.report(
                        "MG006",
                        f"branch label {label!r} is declared by both {owners[label]} "
                        f"({by_id[owners[label]].path}) and {revision} ({script.path})",
                        script,
                        script.spans.branch_labels,
                        revisions=(owners[label], revision),
                        hint="keep the label on the first revision of the branch only",
                    )
                else:
                    owners[label] = revision
        return owners

    def edges(
        self,
        by_id: Mapping[str, MigrationScript],
        owners: Mapping[str, str],
        scripts: Sequence[MigrationScript],
    ) -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]]:
        """Present parents and resolved dependencies of every revision."""
        down: dict[str, tuple[str, ...]] = {}
        deps: dict[str, tuple[str, ...]] = {}
        for revision, script in by_id.items():
            parents = script.down_revisions
            if len(parents) == 1 and parents[0] in by_id and parents[0] != revision:
                down[revision] = parents  # the common case, without the general checks
            else:
                down[revision] = self.present(script, "down_revision", by_id, {}, scripts)
            if not script.depends_on:
                deps[revision] = ()
                continue
            resolved = self.present(script, "depends_on", by_id, owners, scripts)
            deps[revision] = tuple(dict.fromkeys(d for d in resolved if d not in down[revision]))
        return down, deps

    def present(
        self,
        script: MigrationScript,
        field: str,
        by_id: Mapping[str, MigrationScript],
        owners: Mapping[str, str],
        scripts: Sequence[MigrationScript],
    ) -> tuple[str, ...]:
        """The revisions ``field`` names that exist (labels resolved through
        ``owners``); each missing one is an MG004, a self-reference an MG005."""
        names = script.depends_on if field == "depends_on" else script.down_revisions
        found: list[str] = []
        missing: list[str] = []
        for name in names:
            target = name if name in by_id else owners.get(name)
            if target is None:
                missing.append(name)
                if len(missing) > _MAX_MISSING_REPORTED:
                    continue  # summed up in one finding below
            if target == script.revision:
                self.on_cycles.add(target)
                through = "" if name == target else f" (through its branch label {name!r})"
                self.report(
                    "MG005",
                    f"revision {target} names itself in its {field}{through}",
                    script,
                    _field_span(script, field),
                    revisions=(target,),
                    hint=f"point {field} at the revision this one follows",
                )
            elif target is None:
                self.report(
                    "MG004",
                    f"{field} of {script.revision} names {name!r}, which no migration in "
                    f"this environment declares",
                    script,
                    _field_span(script, field),
                    revisions=(script.revision,),
                    hint=_missing_hint(name, script.revision, by_id, scripts),
                )
            else:
                found.append(target)
        if len(missing) > _MAX_MISSING_REPORTED:
            self.more_missing(script, field, missing[_MAX_MISSING_REPORTED:])
        return tuple(dict.fromkeys(found))

    def more_missing(self, script: MigrationScript, field: str, rest: Sequence[str]) -> None:
        """One MG004 for the missing parents past the first few: a hostile
        file naming thousands must not print thousands of findings."""
        self.report(
            "MG004",
            f"{field} of {script.revision} names {len(rest):,} more revisions which no "
            f"migration in this environment declares",
            script,
            _field_span(script, field),
            revisions=(script.revision,),
            hint="add the missing migrations, or point at existing revisions (`mergeguard heads`)",
        )

    def cycles(
        self,
        by_id: Mapping[str, MigrationScript],
        down: Mapping[str, tuple[str, ...]],
        deps: Mapping[str, tuple[str, ...]],
    ) -> None:
        """Report every cycle (strongly connected component) once, and note its
        members: walks that assume a DAG leave them alone."""
        edges = {r: down[r] + deps[r] if deps[r] else down[r] for r in by_id}
        leftover = _not_topologically_ordered(edges)
        if not leftover:
            return
        for component in _strongly_connected({r: edges[r] for r in leftover}):
            if len(component) < 2:
                continue
            self.on_cycles.update(component)
            members = sorted(component, key=list(by_id).index)
            first = by_id[members[0]]
            via = (
                "down_revision"
                if all(any(p in component for p in down[m]) for m in members)
                else "down_revision / depends_on"
            )
            self.report(
                "MG005",
                f"revisions {' -> '.join(members)} form a cycle through {via}; "
                'Alembic stops with "Cycle is detected in revisions"',
                first,
                _field_span(first, "down_revision"),
                revisions=tuple(members),
                hint="point one of them at a revision outside the cycle",
            )


def _field_span(script: MigrationScript, field: str) -> Span | None:
    return script.spans.depends_on if field == "depends_on" else script.spans.down_revision


def _missing_hint(
    name: str,
    asker: str,
    by_id: Mapping[str, MigrationScript],
    scripts: Sequence[MigrationScript],
) -> str:
    """What ``asker``'s missing parent ``name`` probably meant; never ``asker``
    itself (a revision cannot follow itself)."""
    by_id = {r: s for r, s in by_id.items() if r != asker}
    for script in scripts:
        if script.revision != asker and name in (script.path.name, script.path.stem):
            return (
                f"{name!r} looks like a file name; the revision in that file is {script.revision!r}"
            )
    prefixed = [r for r in by_id if r.startswith(name)] if len(name) >= 4 else []
    if len(prefixed) == 1:
        return f"Alembic needs the full id here: did you mean {prefixed[0]!r}?"
    close = difflib.get_close_matches(name, _near_in_length(name, by_id), n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]!r}? (`mergeguard heads` lists the revisions)"
    return "add the missing migration, or point at an existing revision (`mergeguard heads`)"


def _near_in_length(name: str, ids: Iterable[str]) -> list[str]:
    """The ids difflib may find close to ``name``: a ratio of 0.6 needs the
    lengths within a factor of 7/3, and beyond a few thousand candidates (or
    a very long name) the search costs more than a hint is worth."""
    if len(name) > _MAX_HINT_ID_CHARS:
        return []
    low, high = len(name) * 3 / 7, len(name) * 7 / 3
    return list(itertools.islice((r for r in ids if low <= len(r) <= high), _MAX_HINT_CANDIDATES))


def _invert(
    by_id: Mapping[str, MigrationScript], edges: Mapping[str, tuple[str, ...]]
) -> dict[str, tuple[str, ...]]:
    inverted: dict[str, list[str]] = {r: [] for r in by_id}
    for revision in by_id:
        for parent in edges[revision]:
            inverted[parent].append(revision)
    return {r: tuple(v) for r, v in inverted.items()}


def _not_topologically_ordered(edges: Mapping[str, tuple[str, ...]]) -> set[str]:
    """Revisions Kahn's algorithm cannot order: those on a cycle and those
    above one.  Empty for every sane history, which then skips Tarjan."""
    pending = {r: len(parents) for r, parents in edges.items()}
    below: dict[str, list[str]] = {}
    for revision, parents in edges.items():
        for parent in parents:
            below.setdefault(parent, []).append(revision)
    ready = [r for r, count in pending.items() if count == 0]
    while ready:
        for child in below.get(ready.pop(), ()):
            pending[child] -= 1
            if pending[child] == 0:
                ready.append(child)
    return {r for r, count in pending.items() if count > 0}


def _strongly_connected(edges: Mapping[str, tuple[str, ...]]) -> Iterator[set[str]]:
    """Tarjan's algorithm, iterative (histories are deeper than the recursion
    limit).  Edges to revisions outside ``edges`` are ignored."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    for root in edges:
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            targets = edges[node]
            if i < len(targets) and targets[i] not in edges:
                work.append((node, i + 1))
                continue
            if i < len(targets):
                work.append((node, i + 1))
                target = targets[i]
                if target not in index:
                    work.append((target, 0))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: set[str] = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                yield component


def _propagate_labels(
    order: tuple[str, ...],
    by_id: Mapping[str, MigrationScript],
    down: Mapping[str, tuple[str, ...]],
    children: Mapping[str, tuple[str, ...]],
    dependents: Mapping[str, tuple[str, ...]],
) -> dict[str, set[str]]:
    """Alembic's ``_add_branches``: each labelled revision's labels go to its
    descendants (down_revision links only), then from the last descendant
    visited back down the chain until a branch point or merge point."""
    labels = {r: set(by_id[r].branch_labels) for r in order}

    def real_branch_point(r: str) -> bool:
        return len(set(children[r]) | set(dependents[r])) > 1

    for revision in (r for r in order if by_id[r].branch_labels):
        last = revision
        for node in _alembic_descendants(revision, children):
            labels[node].update(labels[revision])
            last = node
        for parent in _chain_down(last, by_id, real_branch_point):
            labels[parent].update(labels[revision])
    return labels


def _chain_down(
    start: str,
    by_id: Mapping[str, MigrationScript],
    real_branch_point: Callable[[str], bool],
) -> Iterator[str]:
    """``start`` and its single-parent ancestors, down to a branch point or
    merge point.  Each revision once: on a cycle (or a revision naming itself)
    Alembic's loop would never end; MG005 reports the cycle instead."""
    seen: set[str] = set()
    parent: str | None = start
    while (
        parent is not None
        and parent not in seen
        and not real_branch_point(parent)
        and len(by_id[parent].down_revisions) <= 1
    ):
        seen.add(parent)
        yield parent
        scalar = by_id[parent].down_revisions
        parent = scalar[0] if scalar and scalar[0] in by_id else None


def _alembic_descendants(start: str, children: Mapping[str, tuple[str, ...]]) -> Iterator[str]:
    """Descendants in the order of Alembic's ``_iterate_related_revisions``
    (a LIFO walk); only which node comes last matters, and that is the same
    for any child order (see the module tests)."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        revision = todo.pop()
        if revision in seen:
            continue
        seen.add(revision)
        todo.extend(children[revision])
        yield revision


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
