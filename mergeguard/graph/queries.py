"""Questions asked of a revision graph by the rules, fix, apply and the reports:
which heads conflict, where lines diverged, where the range makes branches meet.

Several heads are fine when they live on separate labelled lines
(``alembic upgrade expand@head`` works for each).  Heads *conflict* when the
branch labels on their ancestries intersect, or when neither carries a label:
then ``alembic upgrade head`` (or ``<label>@head``) fails with "Multiple head
revisions".
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from heapq import heapify, heappop, heappush

from mergeguard.graph.revisions import RevisionGraph
from mergeguard.graph.scenario import TREE, MergeScenario, Side, added_revisions

UNLABELLED = ""


def conflict_groups(graph: RevisionGraph) -> dict[str, tuple[str, ...]]:
    """Lineage key -> its heads, for every lineage with more than one head.

    The key is a branch label, or ``""`` for heads that carry none.  A set of
    heads is listed once, under the first key (sorted) that holds it."""
    by_key: dict[str, list[str]] = {}
    for head in sound_heads(graph):
        for key in sorted(graph.labels(head)) or [UNLABELLED]:
            by_key.setdefault(key, []).append(head)
    groups: dict[str, tuple[str, ...]] = {}
    seen: set[frozenset[str]] = set()
    for key in sorted(by_key):
        heads = tuple(by_key[key])
        if len(heads) > 1 and frozenset(heads) not in seen:
            seen.add(frozenset(heads))
            groups[key] = heads
    return groups


def sound_heads(graph: RevisionGraph) -> tuple[str, ...]:
    """Heads whose own header is known: a revision with a dynamic header
    (MG002) or a missing parent (MG004) is reported as such, not as a head."""
    return tuple(
        head
        for head in graph.heads
        if graph.script(head).complete
        and len(graph.nodes[head].down) == len(graph.script(head).down_revisions)
    )


def head_count(graph: RevisionGraph | None, key: str) -> int:
    """How many sound heads lineage ``key`` has (``""``: the unlabelled line)."""
    if graph is None:
        return 0
    return sum(
        1
        for head in sound_heads(graph)
        if (key in graph.labels(head) if key else not graph.labels(head))
    )


def fork_points(graph: RevisionGraph, heads: tuple[str, ...]) -> tuple[str, ...]:
    """The nearest common ancestors of ``heads`` (where the lines diverged):
    the common ancestors (down_revision links) none of whose children is one."""
    if graph.has_cycles:
        return _fork_points_by_sets(graph, heads)
    masks, seen, below_common = _walk_down(graph, heads, lambda mask, covered: covered)
    full = (1 << len(heads)) - 1
    nearest = {r for r in seen if masks[r] == full and r not in below_common}
    return tuple(r for r in graph.order if r in nearest)


def _fork_points_by_sets(graph: RevisionGraph, heads: tuple[str, ...]) -> tuple[str, ...]:
    """``fork_points`` on a graph with a cycle, where no topological order holds."""
    common: set[str] | None = None
    for head in heads:
        ancestors = graph.ancestors([head], dependencies=False)
        common = ancestors if common is None else common & ancestors
    if not common:
        return ()
    children = graph.links.children
    return tuple(
        r for r in graph.order if r in common and not any(c in common for c in children[r])
    )


def nearest_ancestors(
    graph: RevisionGraph, revisions: Sequence[str], count: int, skip: Collection[str] = ()
) -> list[str]:
    """The ``count`` ancestors of ``revisions`` (following ``down_revision``
    only; neither ``revisions`` nor ``skip``) that come last in
    ``graph.topological()``, in that order.

    A walk down from the tips, the highest position first: a revision's
    parents stand lower than it, so every ancestor above the one taken is
    taken already, and the walk stops after ``count`` instead of visiting the
    whole history (on a graph with a cycle, whose order breaks that rule,
    every ancestor is found first)."""
    tips = set(revisions)
    if graph.has_cycles:
        below = graph.ancestors(tips, dependencies=False).difference(tips, skip)
        return [r for r in graph.topological() if r in below][-count:] if count else []
    position, down = graph.position(), graph.links.down
    todo = [-position[r] for r in tips if r in position]
    heapify(todo)
    seen = {-key for key in todo}
    order = graph.topological()
    found: list[str] = []
    while todo and len(found) < count:
        revision = order[-heappop(todo)]
        if revision not in tips and revision not in skip:
            found.append(revision)
        for parent in down[revision]:
            at = position[parent]
            if at not in seen:
                seen.add(at)
                heappush(todo, -at)
    return found[::-1]


def joined_side(scenario: MergeScenario) -> Side:
    """The side whose graph says where branches meet: what the merge leaves."""
    return scenario.merged if scenario.has_base else scenario.checked


def exclusive_ancestries(graph: RevisionGraph, tips: Sequence[str]) -> list[set[str]]:
    """Per tip, the ancestors (down_revision links) no other tip has."""
    if graph.has_cycles or len(tips) < 2:
        return _exclusive_by_sets(graph, tips)
    # a revision two tips reach has only such revisions below it
    masks, _, _ = _walk_down(graph, tips, lambda mask, covered: mask & (mask - 1) != 0)
    exclusive: list[set[str]] = [set() for _ in tips]
    for revision, mask in masks.items():
        if mask & (mask - 1) == 0:
            exclusive[mask.bit_length() - 1].add(revision)
    return exclusive


def _exclusive_by_sets(graph: RevisionGraph, tips: Sequence[str]) -> list[set[str]]:
    """``exclusive_ancestries`` on a graph with a cycle (or of one tip): whole ancestries."""
    ancestries = [graph.ancestors([tip], dependencies=False) for tip in tips]
    return [
        ancestry.difference(*(other for j, other in enumerate(ancestries) if j != i))
        for i, ancestry in enumerate(ancestries)
    ]


Settled = Callable[[int, bool], bool]


def _walk_down(
    graph: RevisionGraph, tips: Sequence[str], settled: Settled
) -> tuple[dict[str, int], list[str], set[str]]:
    """(which tips reach each revision seen: bit ``i`` for ``tips[i]``; the
    revisions walked, in that order; those with a child all tips reach).

    The walk goes down the down_revision links from the tips in reverse
    topological order, so a revision comes after each descendant a tip
    reaches (its mask is final then).  It ends when every revision still
    waiting is ``settled(mask, has a child all tips reach)``, a question
    whose answer can only turn from False to True and then holds for all
    below: a few revisions past the fork, not the whole history.  On a graph
    without cycles only (a topological order must exist)."""
    position, order, down = graph.position(), graph.topological(), graph.links.down
    full = (1 << len(tips)) - 1
    masks: dict[str, int] = {}
    for i, tip in enumerate(tips):
        if tip in position:
            masks[tip] = masks.get(tip, 0) | 1 << i
    todo = [-position[tip] for tip in masks]  # a max-heap of positions
    heapify(todo)
    covered: set[str] = set()
    waiting = sum(1 for tip in masks if not settled(masks[tip], False))  # unsettled in todo
    walked: list[str] = []
    while waiting:
        revision = order[-heappop(todo)]
        mask = masks[revision]
        waiting -= not settled(mask, revision in covered)
        walked.append(revision)
        common = mask == full
        for parent in down[revision]:
            old = masks.get(parent)  # a parent seen before waits in todo (it comes later)
            before = old is not None and settled(old, parent in covered)
            masks[parent] = mask if old is None else old | mask
            if common:
                covered.add(parent)
            now = settled(masks[parent], parent in covered)
            if old is None:
                heappush(todo, -position[parent])
                waiting += not now
            elif now and not before:
                waiting -= 1
    return masks, walked, covered


def meeting_tips(
    scenario: MergeScenario, env: str
) -> list[tuple[str, tuple[str, ...], str | None]]:
    """(what meets, the tips of the branches, the merge revision or None) for
    every place the range makes branches meet: heads a merge leaves, and merge
    revisions the range adds.  Historic merge points are left alone."""
    side = joined_side(scenario)
    graph = side.graph(env)
    if graph is None:
        return []
    in_range = set(added_revisions(scenario.base, side, env))
    found: list[tuple[str, tuple[str, ...], str | None]] = []
    every_head_group = scenario.kind == TREE and not scenario.has_base  # a tree on its own
    for heads in conflict_groups(graph).values():
        branches = exclusive_ancestries(graph, heads)
        if every_head_group or any(b & in_range for b in branches):
            found.append((f"heads {', '.join(heads)}", heads, None))
    for merge in graph.merge_points:
        parents = tuple(p for p in graph.script(merge).down_revisions if p in graph)
        if merge in in_range and len(parents) > 1:
            found.append((f"merge revision {merge}", parents, merge))
    return found
