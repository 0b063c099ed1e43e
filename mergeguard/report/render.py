"""One entry for every format of a check's report: ``render(format, report)``.

Each format lives in its own module (``text``, ``jsonout``, ``github``,
``sarif``, ``markdown``); this one picks the renderer.  ``render`` is what
goes to stdout; ``summary`` is what goes to stderr after it (the counts and
what was checked), so stdout holds only the format.

``heads`` and ``graph`` are not reports of a check: they draw the graphs of
one snapshot (``text.heads_text``, ``jsonout.heads_document``, ``graphviews``).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import TYPE_CHECKING

from mergeguard.model import Report
from mergeguard.report import github, jsonout, markdown, sarif, text

if TYPE_CHECKING:
    from rich.console import Console

FORMATS = ("text", "json", "github", "sarif", "markdown")
# What a format shows beyond the findings (the pipeline computes it only when asked)
SCHEMA_CHANGE_FORMATS = frozenset({"text", "markdown"})  # what each side does to the schema
CHART_FORMATS = frozenset({"markdown"})  # the range's flowcharts

_RENDERERS: dict[str, Callable[[Report], str]] = {
    "json": lambda report: jsonout.check_document(report) + "\n",
    "github": github.render,
    "sarif": sarif.render,
    "markdown": markdown.render,
}


def render(fmt: str, report: Report, console: Console | None = None) -> str:
    """The report in ``fmt`` as the exact text for stdout, ending in a newline
    unless empty.  ``text`` is drawn by ``console`` (the terminal's, for its
    colours; by default a plain one).  ValueError for an unknown format."""
    if fmt == "text":
        return _text(report, console)
    renderer = _RENDERERS.get(fmt)
    if renderer is None:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    return renderer(report)


def summary(fmt: str, report: Report) -> str:
    """The lines for stderr after the findings (none after JSON, which a
    program reads whole): for ``text`` what each side does to the schema,
    then for every format the counts and what was checked."""
    if fmt == "json":
        return ""
    lines = text.schema_lines(report.changes()) if fmt == "text" else []
    return "".join(line + "\n" for line in [*lines, text.check_summary(report)])


def _text(report: Report, console: Console | None) -> str:
    from rich.console import Console

    if console is None:
        console = Console(file=io.StringIO(), highlight=False)
    with console.capture() as captured:
        text.render_diagnostics(console, report.diagnostics)
    return captured.get()
