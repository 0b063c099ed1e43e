"""Walks over a graph given as id -> ids mappings, before a ``RevisionGraph``
exists: inverting edges, finding cycles (Tarjan), and Alembic's branch-label
propagation (``RevisionMap._add_branches``).  Each is linear in the graph (the
label walks in the labelled part of it).  Pure functions of their inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence

from mergeguard.model import MigrationScript


def invert(
    order: Sequence[str],
    down: Mapping[str, tuple[str, ...]],
    deps: Mapping[str, tuple[str, ...]],
) -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]]:
    """(children, dependents) of every revision in ``order``, in one pass:
    who names each one in its down_revision, and who in its depends_on."""
    none: tuple[str, ...] = ()
    children, dependents = dict.fromkeys(order, none), dict.fromkeys(order, none)
    several: dict[tuple[bool, str], list[str]] = {}  # most have one child: no list for those
    for revision in order:
        for parent in down[revision]:
            if children[parent]:
                _add(children, several, False, parent, revision)
            else:
                children[parent] = (revision,)  # the common case, inline
        if deps[revision]:
            for needed in deps[revision]:
                _add(dependents, several, True, needed, revision)
    for (is_dependency, target), members in several.items():
        (dependents if is_dependency else children)[target] = tuple(members)
    return children, dependents


def _add(
    inverted: dict[str, tuple[str, ...]],
    several: dict[tuple[bool, str], list[str]],
    kind: bool,
    target: str,
    revision: str,
) -> None:
    """``revision`` joins ``inverted[target]``; past the first, in a list."""
    if not inverted[target]:
        inverted[target] = (revision,)
    elif (kind, target) in several:
        several[kind, target].append(revision)
    else:
        several[kind, target] = [*inverted[target], revision]


def strongly_connected(edges: Mapping[str, tuple[str, ...]]) -> Iterator[set[str]]:
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


def propagate_labels(
    order: tuple[str, ...],
    by_id: Mapping[str, MigrationScript],
    children: Mapping[str, tuple[str, ...]],
    dependents: Mapping[str, tuple[str, ...]],
) -> dict[str, set[str]]:
    """Alembic's ``_add_branches``: each labelled revision's labels go to its
    descendants (down_revision links only), then from the last descendant
    visited back down the chain until a branch point or merge point.  Only
    revisions that end up with a label are keys of the result."""
    labels: dict[str, set[str]] = {}

    def real_branch_point(r: str) -> bool:
        return len(set(children[r]) | set(dependents[r])) > 1

    for revision in (r for r in order if by_id[r].branch_labels):
        own = labels.setdefault(revision, set())
        own.update(by_id[revision].branch_labels)
        last = revision
        for node in alembic_descendants(revision, children):
            labels.setdefault(node, set()).update(own)
            last = node
        for parent in chain_down(last, by_id, real_branch_point):
            labels.setdefault(parent, set()).update(own)
    return labels


def chain_down(
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


def alembic_descendants(start: str, children: Mapping[str, tuple[str, ...]]) -> Iterator[str]:
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
