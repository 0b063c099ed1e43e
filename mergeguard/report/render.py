"""One entry for every format of a check's report: ``render(format, report)``.

Each format lives in its own module (``text``, ``jsonout``, ``github``,
``sarif``, ``markdown``); this one picks the renderer.  ``render`` is what
goes to stdout; ``summary`` is what goes to stderr after it (the counts and
what was checked), so stdout holds only the format.

``heads`` and ``graph`` are not reports of a check: they draw the graphs of
one snapshot (``text.heads_text``, ``jsonout.heads_document``, ``graphviews``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from mergeguard.model import Report

FORMATS = ("text", "json", "github", "sarif", "markdown")
# What a format shows beyond the findings (the pipeline computes it only when asked)
SCHEMA_CHANGE_FORMATS = frozenset({"text", "markdown"})  # what each side does to the schema
CHART_FORMATS = frozenset({"markdown"})  # the range's flowcharts


def render(fmt: str, report: Report, console: Console | None = None) -> str:
    """The report in ``fmt`` as the exact text for stdout, ending in a newline
    unless empty.  ``text`` is plain unless a ``console`` is given (rich's,
    for a terminal's colours).  ValueError for an unknown format.

    Each format's module is imported only when it renders: a run pays for
    the one it prints (rich only for a terminal)."""
    if fmt == "text":
        return _text(report, console)
    if fmt == "json":
        from mergeguard.report.jsonout import check_document

        return check_document(report) + "\n"
    if fmt == "github":
        from mergeguard.report import github

        return github.render(report)
    if fmt == "sarif":
        from mergeguard.report import sarif

        return sarif.render(report)
    if fmt == "markdown":
        from mergeguard.report import markdown

        return markdown.render(report)
    raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")


def summary(fmt: str, report: Report) -> str:
    """The lines for stderr after the findings (none after JSON, which a
    program reads whole): for ``text`` what each side does to the schema,
    then for every format the counts and what was checked."""
    if fmt == "json":
        return ""
    from mergeguard.report import text

    lines = text.schema_lines(report.changes()) if fmt == "text" else []
    return "".join(line + "\n" for line in [*lines, text.check_summary(report)])


def _text(report: Report, console: Console | None) -> str:
    from mergeguard.report import text

    if console is None:
        return text.diagnostics_text(report.diagnostics)
    with console.capture() as captured:
        text.render_diagnostics(console, report.diagnostics)
    return captured.get()
