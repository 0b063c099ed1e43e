"""The ``graph`` tree on a terminal: one line per revision, newest first.

Every revision gets its own line at any width: the message is cut to fit
(with ``…``) and the id and its indicators wrap under their lanes rather
than run off the edge.  Text from the repository (ids, messages, labels) goes
into rich ``Text`` objects, never into markup, so ``[bold]`` in a message
prints as itself; unprintable characters are shown as escapes (``\\n``, ``\\x1b``).
"""

from __future__ import annotations

from collections.abc import Iterator

from rich.console import Console, ConsoleOptions
from rich.text import Text

from mergeguard.graph.environments import EnvironmentRead
from mergeguard.graph.revisions import RevisionGraph
from mergeguard.model import AddedBy, RangeMarks
from mergeguard.report.escaping import first_line, printable
from mergeguard.report.lanes import Row, continuation, guide, layout, markers

MIN_MESSAGE = 4  # below this many columns a message is left out rather than cut to "…"
GUIDE_ROOM = 16  # columns always kept for the id, however many lanes there are
_ADDED_STYLE = {"ours": "bold green", "theirs": "bold yellow", "both": "bold green"}


class RevisionTree:
    """A rich renderable: the header line, then one row per revision (the
    first ``limit`` only, and a line saying how many were left out).  With
    ``marks`` (``graph A..B``) the revisions the range adds carry ``+`` and
    the name of the side that adds them."""

    def __init__(
        self, read: EnvironmentRead, *, marks: RangeMarks | None = None, limit: int | None = None
    ) -> None:
        self.read = read
        self.marks = marks
        self.added: dict[str, AddedBy] = marks.added_in(read.environment.name) if marks else {}
        rows = layout(read.graph)
        self.rows = rows if limit is None else rows[:limit]
        self.left_out = len(rows) - len(self.rows)
        self.position = {row.revision: number for number, row in enumerate(rows)}

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Text]:
        width = max(options.max_width, 1)
        yield Text.assemble(
            (printable(self.read.environment.name), "bold"),
            " ",
            (printable(self.read.origin), "dim"),
        )
        for row in self.rows:
            yield from self.row_lines(console, row, width)
        if self.left_out:
            noun = "revision" if self.left_out == 1 else "revisions"
            yield Text(f"… {self.left_out} older {noun} not shown (--limit)", style="dim")

    def row_lines(self, console: Console, row: Row, width: int) -> Iterator[Text]:
        """The row's line, wrapped under its lanes when the id and indicators
        alone are wider than the room left."""
        mark = self.mark(row.revision)
        lanes, below = _fit(guide(row), width), _fit(continuation(row), width)
        room = max(width - mark.cell_len - len(lanes), 1)
        body = self.subject(row.revision)
        message = first_line(self.read.graph.nodes[row.revision].script.message)
        space = room - body.cell_len - 1
        if message and space >= MIN_MESSAGE:
            cut = message if len(message) <= space else message[: space - 1] + "…"
            body.append(" ").append(cut, style="dim")
        if body.cell_len <= room:  # the usual case: one line, no wrapping needed
            yield Text.assemble(mark, lanes, body, no_wrap=True, end="\n")
            return
        blank = Text(" " * mark.cell_len)
        for number, part in enumerate(body.wrap(console, room, overflow="fold")):
            start = Text.assemble(mark, lanes) if number == 0 else Text.assemble(blank, below)
            yield Text.assemble(start, part, no_wrap=True, end="\n")

    def mark(self, revision: str) -> Text:
        """``+ `` on revisions the range adds, aligned blanks on the others
        (nothing at all outside a range)."""
        if self.marks is None:
            return Text()
        role = self.added.get(revision)
        return Text("+ ", style=_ADDED_STYLE[role]) if role else Text("  ")

    def subject(self, revision: str) -> Text:
        """Id, the side that adds it, Alembic's indicators and the notes."""
        graph = self.read.graph
        text = Text(printable(revision), style="cyan")
        role = self.added.get(revision)
        if role and self.marks:
            text.append(f" [{printable(self.marks.side_name(role))}]", style=_ADDED_STYLE[role])
        pieces = [(marker, "") for marker in markers(graph, revision)]
        pieces += notes(graph, revision, self.position)
        for piece, style in pieces:
            text.append(" ").append(printable(piece), style=style)
        return text


def notes(graph: RevisionGraph, revision: str, position: dict[str, int]) -> list[tuple[str, str]]:
    """What the lanes alone do not say, with its style: a merge's parents,
    missing parents, dependencies, and parents drawn above (only on a cycle)."""
    node = graph.nodes[revision]
    found = []
    if node.is_merge_point:
        found.append((f"(merges {', '.join(node.script.down_revisions)})", ""))
    missing = [p for p in node.script.down_revisions if p not in graph.nodes]
    if missing:
        found.append((f"(missing parent {', '.join(missing)})", "red"))
    if node.deps:
        found.append((f"(depends on {', '.join(node.deps)})", "magenta"))
    above = [p for p in node.down if position[p] < position[revision]]
    if above:
        found.append((f"(parent {', '.join(above)} above: a cycle)", "red"))
    return found


def _fit(lanes: str, width: int) -> str:
    """The lane drawing, cut (ending in ``…``) when it would leave the id less
    than ``GUIDE_ROOM`` columns: the revision matters more than the picture."""
    keep = width - GUIDE_ROOM
    if len(lanes) <= keep:
        return lanes
    return lanes[: max(keep - 2, 0)] + "… " if keep >= 2 else ""
