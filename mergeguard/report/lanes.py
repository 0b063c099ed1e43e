"""Where each revision sits in the ``graph`` tree: one row per revision,
newest first (Alembic's ``history`` order), and a new column (lane) only
where the history forks, so a linear run of any length stays flat.

The order is a topological order from the heads down that keeps each line of
history together (like ``git log --graph --topo-order``): after a revision
comes its first parent, as soon as every child of that parent has been shown.
Pure: a ``RevisionGraph`` in, ``Row`` values out; treeview.py draws them.
"""

from __future__ import annotations

from mergeguard.graph.revisions import RevisionGraph
from mergeguard.model import frozen

DOT = "●"


@frozen
class Row:
    """One revision's line: its column, the lanes that come in from above and
    go on below, lanes that end here (other children of a branch point) and
    lanes opened here (a merge's other parents)."""

    revision: str
    column: int
    above: tuple[bool, ...]
    below: tuple[bool, ...]
    joins: tuple[int, ...] = ()
    forks: tuple[int, ...] = ()


def markers(graph: RevisionGraph, revision: str) -> list[str]:
    """Alembic's indicators for one revision: labels, head, branch/merge point."""
    node = graph.nodes[revision]
    marks = [f"({', '.join(sorted(node.labels))})"] if node.labels else []
    if revision in graph.effective_heads:
        marks.append("(head)")
    elif revision in graph.heads:
        marks.append("(effective head)")
    if node.is_branch_point:
        marks.append("(branchpoint)")
    if node.is_merge_point:
        marks.append("(mergepoint)")
    return marks


def newest_first(graph: RevisionGraph) -> tuple[str, ...]:
    """Every revision once, each before its parents; a line of history is
    followed down until it reaches a revision that still waits for another
    child.  Revisions on a cycle (never ready) come last, newest first."""
    position = {r: i for i, r in enumerate(graph.topological())}
    waiting = {r: len(set(node.children)) for r, node in graph.nodes.items()}
    # a stack: what was made ready last is shown next, so a line stays together;
    # the heads go in oldest first so that the newest head is shown first
    ready = sorted((r for r, count in waiting.items() if count == 0), key=position.__getitem__)
    result: list[str] = []
    while ready:
        revision = ready.pop()
        result.append(revision)
        for parent in reversed(tuple(dict.fromkeys(graph.nodes[revision].down))):
            waiting[parent] -= 1
            if waiting[parent] == 0:
                ready.append(parent)
    shown = set(result)
    rest = [r for r in reversed(graph.topological()) if r not in shown]
    return tuple(result + rest)


def layout(graph: RevisionGraph, order: tuple[str, ...] | None = None) -> tuple[Row, ...]:
    """The rows of ``order`` (default: ``newest_first``), with their lanes."""
    lanes: list[str | None] = []  # the revision each column's line leads to
    shown: set[str] = set()
    rows = []
    for revision in newest_first(graph) if order is None else order:
        above = tuple(awaited is not None for awaited in lanes)
        column, joins = _arrive(lanes, revision)
        shown.add(revision)
        parents = [p for p in dict.fromkeys(graph.nodes[revision].down) if p not in shown]
        lanes[column] = parents[0] if parents else None
        forks = tuple(_open(lanes, parent, column) for parent in parents[1:])
        while lanes and lanes[-1] is None:
            lanes.pop()
        below = tuple(awaited is not None for awaited in lanes)
        rows.append(Row(revision, column, above, below, joins, forks))
    return tuple(rows)


def _arrive(lanes: list[str | None], revision: str) -> tuple[int, tuple[int, ...]]:
    """The column of ``revision`` (the first lane leading to it, else a free
    one) and the other lanes that end at it."""
    leading = [j for j, awaited in enumerate(lanes) if awaited == revision]
    if not leading:
        return _free(lanes), ()
    for j in leading[1:]:
        lanes[j] = None
    return leading[0], tuple(leading[1:])


def _open(lanes: list[str | None], parent: str, column: int) -> int:
    """A new lane towards ``parent`` (a merge's second parent onwards)."""
    slot = next((j for j in range(column + 1, len(lanes)) if lanes[j] is None), None)
    if slot is None:
        slot = _free(lanes)
    lanes[slot] = parent
    return slot


def _free(lanes: list[str | None]) -> int:
    for j, awaited in enumerate(lanes):
        if awaited is None:
            return j
    lanes.append(None)
    return len(lanes) - 1


def guide(row: Row) -> str:
    """The lane drawing left of a row's text: ``●`` for the revision, ``│`` for
    lines passing by, corners where lines end (``┘``) or start (``┐``)."""
    connected = set(row.joins) | set(row.forks)
    low, high = min(connected | {row.column}), max(connected | {row.column})
    width = max(len(row.above), len(row.below), high + 1)
    cells = []
    for j in range(width):
        cells.append(_cell(row, j, low, high))
        cells.append("─" if low <= j < high else " ")
    return "".join(cells)


def _cell(row: Row, j: int, low: int, high: int) -> str:
    if j == row.column:
        return DOT
    ends, starts = j in row.joins, j in row.forks
    if ends or starts:
        right = j > row.column
        if ends and starts:
            return "┤" if right else "├"
        if ends:
            return "┘" if right else "└"
        return "┐" if right else "┌"
    inside = low < j < high
    passing = _at(row.above, j) and _at(row.below, j)
    if passing:
        return "┼" if inside else "│"
    return "─" if inside else " "


def continuation(row: Row) -> str:
    """The lane drawing under a row, for its wrapped text."""
    width = max(len(row.above), len(row.below), row.column + 1)
    return "".join("│ " if _at(row.below, j) else "  " for j in range(width))


def _at(lanes: tuple[bool, ...], j: int) -> bool:
    return j < len(lanes) and lanes[j]
