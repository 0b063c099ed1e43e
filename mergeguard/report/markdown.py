"""Markdown for ``$GITHUB_STEP_SUMMARY`` or a pull-request comment.

A verdict title, what was checked, a table of findings with their hints, and
per environment a Mermaid picture of what the range does to the revision
graph (GitHub renders ```` ```mermaid ```` blocks); with deployed databases
configured, a table of where each stands.

Every repository value (a message quoting revision ids and labels, a file
name, an environment) is escaped for where it goes: outside code, HTML
characters become entities and Markdown punctuation is backslash-escaped, so
``<img onerror=...>`` or ``[link](...)`` in a file name shows as itself; a
line break becomes ``<br>``, so no value leaves its table cell or list item;
inside code spans only unprintable characters need escaping.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from mergeguard.model import Counts, DatabaseStatus, Diagnostic, Report
from mergeguard.report.escaping import printable
from mergeguard.report.rangechart import flowchart
from mergeguard.report.text import describe

_SEVERITY = {"error": ":x: error", "warning": ":warning: warning"}


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' * (count != 1)}"


def verdict(diagnostics: Sequence[Diagnostic]) -> str:
    """The title line: ``### mergeguard: 1 error, 2 warnings`` or ``... no problems``."""
    found = Counts.of(diagnostics)
    pairs = ((found.errors, "error"), (found.warnings, "warning"))
    counts = [_plural(n, word) for n, word in pairs if n]
    return f"### mergeguard: {', '.join(counts) or 'no problems'}"


_HTML_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
# Emphasis, code, links, strikethrough.  An ``_`` between letters or digits
# (``ix_users_email``) can neither open nor close emphasis in GFM: kept as is.
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*\[\]~]|(?<![^\W_])_|_(?![^\W_]))")
_CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)")  # GFM: equal backtick runs


def _literal(text: str) -> str:
    """Text outside code: HTML characters as entities, Markdown punctuation escaped."""
    text = "".join(_HTML_ENTITIES.get(c, c) for c in text)
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", text)


def escape_text(text: str) -> str:
    """A message (rule text quoting repository values) as Markdown on one line.

    Code spans (```alembic upgrade head```) stay code spans, where GitHub
    shows everything literally; the rest is escaped by ``_literal``, a stray
    backtick included.  Unprintable characters become escapes, line breaks
    ``<br>``.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    escaped = []
    for line in lines:
        line, pieces, end = printable(line), [], 0
        for span in _CODE_SPAN.finditer(line):
            pieces += [_literal(line[end : span.start()]), span.group(0)]
            end = span.end()
        escaped.append("".join(pieces) + _literal(line[end:]))
    return "<br>".join(escaped)


def escape_cell(text: str) -> str:
    """``text`` safe inside one table cell: pipes escaped, line breaks as ``<br>``."""
    text = text.replace("|", "\\|")
    return "<br>".join(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))


def _where(item: Diagnostic) -> str:
    if item.location is None:
        return ""
    return f"{printable(str(item.location.path))}:{item.location.line}"


def _code_span(text: str) -> str:
    """``text`` as inline code, fenced by more backticks than it holds in a row;
    the empty string stays empty."""
    if not text:
        return ""
    longest = max((len(run) for run in re.findall("`+", text)), default=0)
    fence = "`" * (longest + 1)
    padding = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{padding}{text}{padding}{fence}"


def findings_table(diagnostics: Sequence[Diagnostic]) -> list[str]:
    """The findings as table lines: severity, rule, file:line, message."""
    lines = ["| Severity | Rule | Where | Message |", "| --- | --- | --- | --- |"]
    for item in diagnostics:
        cells = (
            _SEVERITY[item.severity],
            f"{item.code} {_code_span(item.name)}",
            _code_span(_where(item)),
            escape_text(item.message),
        )
        lines.append("| " + " | ".join(escape_cell(cell) for cell in cells) + " |")
    return lines


def _hint_bullet(item: Diagnostic) -> str:
    where = _code_span(_where(item))
    return f"- **{item.code}**{' ' + where if where else ''}: {escape_text(item.hint or '')}"


def hint_lines(diagnostics: Sequence[Diagnostic]) -> list[str]:
    """One bullet per finding that has a hint, under a bold heading (none without hints)."""
    bullets = [_hint_bullet(item) for item in diagnostics if item.hint]
    return ["**Hints**", "", *bullets] if bullets else []


def databases_table(statuses: Sequence[DatabaseStatus]) -> list[str]:
    """Where each deployed database stands, as table lines: database, state
    (the stranded revisions, an unreachable database's masked error), and
    how many revisions `alembic upgrade heads` would run."""
    lines = ["| Database | State | Pending |", "| --- | --- | --- |"]
    for status in statuses:
        reading = status.reading
        state: str = status.state
        if status.stranded:
            state += " on " + ", ".join(_code_span(printable(r)) for r in status.stranded)
        elif reading.error is not None:
            state += ": " + escape_text(reading.error)
        pending = "" if status.state in ("stranded", "unreachable") else str(len(status.pending))
        cells = (_code_span(printable(reading.name)), state, pending)
        lines.append("| " + " | ".join(escape_cell(cell) for cell in cells) + " |")
    return lines


def _charts(report: Report) -> list[str]:
    lines: list[str] = []
    for chart in report.charts:
        title = f"#### Revision graph of {_code_span(printable(chart.environment))}"
        text = flowchart(chart, report.scenario, report.diagnostics)
        lines += ["", title, "", "```mermaid", text, "```"]
    return lines


def render(report: Report) -> str:
    """The whole Markdown document, ending in a newline.  The report's schema
    changes show what each side does to the schema, per environment (a
    reviewer sees the overlap at a glance)."""
    diagnostics = report.diagnostics
    lines = [verdict(diagnostics), "", f"Checked {escape_text(describe(report.scenario))}."]
    if diagnostics:
        lines += ["", *findings_table(diagnostics)]
        hints = hint_lines(diagnostics)
        if hints:
            lines += ["", *hints]
    for env, sides in report.schema_changes:
        lines += ["", f"**Schema changes** ({_code_span(printable(env))})", ""]
        lines += [
            f"- {escape_text(label)}: {escape_text(', '.join(items) or 'none')}"
            for label, items in sides
        ]
    if report.databases:
        lines += ["", "**Databases**", "", *databases_table(report.databases)]
    lines += _charts(report)
    return "\n".join(lines) + "\n"


def cannot_run(message: str, hint: str | None) -> str:
    """The summary of a run that could not be made (exit 3): the title, then
    the message and hint in a fence longer than any backtick run they hold."""
    body = printable(message) if not hint else f"{printable(message)}\n{printable(hint)}"
    longest = max((len(run) for run in re.findall("`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"### mergeguard could not run\n\n{fence}text\n{body}\n{fence}\n"
