"""Terminal text: findings grouped by file with their hints, and ``heads``.

The lines are made once, as pieces with a style: joined, they are the plain
text a pipe or a file gets (no rich imported); on a terminal rich prints the
same pieces in colour (honouring ``NO_COLOR``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from mergeguard.graph.scenario import MERGE, RANGE
from mergeguard.model import Counts, Diagnostic, Report, ScenarioSummary
from mergeguard.report.escaping import printable

if TYPE_CHECKING:
    from rich.console import Console

    from mergeguard.graph.environments import EnvironmentRead

_STYLE = {"error": "bold red", "warning": "yellow"}
Piece = tuple[str, str]  # a piece of a line and its style on a terminal ("": none)


def _sort_key(item: Diagnostic) -> tuple[str, int, int, str]:
    location = item.location
    if location is None:
        return ("", 0, 0, item.code)
    return (str(location.path), location.line, location.column, item.code)


def diagnostic_lines(diagnostics: Sequence[Diagnostic]) -> list[list[Piece]]:
    """``path:line:col: CODE name [env] message`` lines, grouped by file, each
    hint on the line under its finding: the pieces of each line with the
    style a terminal shows them in.

    Every value is shown with its unprintable characters escaped: a newline
    in a revision id must not start a line a CI runner reads as a command.
    Values stay text, never markup, so ``[b]``, ``:100:`` or a trailing
    backslash print as themselves.
    """
    lines: list[list[Piece]] = []
    for item in sorted(diagnostics, key=_sort_key):
        at = item.location
        where = "" if at is None else f"{at.path}:{at.line}:{at.column}: "
        env = f" [{printable(item.environment)}]" if item.environment else ""
        lines.append(
            [
                (printable(where), ""),
                (printable(item.code), _STYLE[item.severity]),
                (f" {printable(item.name)}{env} {printable(item.message)}", ""),
            ]
        )
        if item.hint:
            lines.append([("  ", ""), ("hint:", "dim"), (f" {printable(item.hint)}", "")])
    return lines


def diagnostics_text(diagnostics: Sequence[Diagnostic]) -> str:
    """The findings as plain text: what rich prints where it shows no colours
    (a pipe, a file), made without importing it."""
    return "".join(
        "".join(piece for piece, _ in line) + "\n" for line in diagnostic_lines(diagnostics)
    )


def render_diagnostics(console: Console, diagnostics: Sequence[Diagnostic]) -> None:
    """The findings on a rich console: ``diagnostics_text`` in colour."""
    from rich.text import Text

    for line in diagnostic_lines(diagnostics):
        console.print(Text.assemble(*line), soft_wrap=True, highlight=False)


def summary_line(diagnostics: Sequence[Diagnostic]) -> str:
    """``mergeguard: 1 error, 0 warnings`` (``no problems found`` when clean)."""
    counts = Counts.of(diagnostics)
    errors, warnings = counts.errors, counts.warnings
    if not diagnostics:
        return "mergeguard: no problems found"
    return (
        f"mergeguard: {errors} error{'s' * (errors != 1)}, "
        f"{warnings} warning{'s' * (warnings != 1)}"
    )


def heads_lines(read: EnvironmentRead) -> list[str]:
    """Lines as ``alembic heads`` prints them: ``rev (labels) (head)`` or
    ``(effective head)`` for a head that only a depends_on points at."""
    graph = read.graph
    lines = []
    for head in graph.heads:
        labels = sorted(printable(label) for label in graph.labels(head))
        text = printable(head) + (f" ({', '.join(labels)})" if labels else "")
        text += " (head)" if head in graph.effective_heads else " (effective head)"
        lines.append(text)
    return lines


def heads_text(reads: Sequence[EnvironmentRead]) -> str:
    """Plain text (no rich needed): one block per environment, titled when
    there are several, each exactly as ``alembic heads`` would print it."""
    lines: list[str] = []
    for read in reads:
        if len(reads) > 1:
            lines.append(f"{printable(read.environment.name)} ({printable(read.origin)}):")
        lines.extend(heads_lines(read))
    return "".join(line + "\n" for line in lines)


def describe(scenario: ScenarioSummary) -> str:
    """What was checked, in a few words, for the summary line (ref names escaped)."""
    base = scenario.base.sha[:7] if scenario.base.sha else "none"
    ours, theirs = printable(scenario.ours.label), printable(scenario.theirs.label)
    if scenario.kind == RANGE:
        return f"{theirs}..{ours}, merge base {base}"
    if scenario.kind == MERGE:
        return f"merge of {theirs} into {ours} in progress"
    if scenario.has_base:
        return f"{ours} against {theirs}, merge base {base}"
    return f"{ours}"


def check_summary(report: Report) -> str:
    """The stderr line after ``check``'s findings: the counts and what was checked."""
    return f"{summary_line(report.diagnostics)} ({describe(report.scenario)})"


def schema_lines(changes: dict[str, dict[str, list[str]]]) -> list[str]:
    """``schema [alembic]: feature: +users.email, +ix_users_email; main: +users.email``."""
    lines = []
    for env, sides in changes.items():
        parts = [
            f"{printable(label)}: {printable(', '.join(items)) or 'no schema changes'}"
            for label, items in sides.items()
        ]
        lines.append(f"schema [{printable(env)}]: {'; '.join(parts)}")
    return lines
