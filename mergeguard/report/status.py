"""``mergeguard status`` printed: text, JSON (contract: ``mergeguard/status/1``)
and Markdown (for a job summary: check's "Databases" table, ``markdown.databases_table``).

Every value from a database or a repository (names, URLs, revision ids,
branch names, a driver's message) is escaped for the format it goes to.
URLs arrive masked: no password reaches this module.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from mergeguard.model import DatabaseStatus, StatusReport
from mergeguard.report.escaping import printable
from mergeguard.report.jsonout import diagnostic_dict, summary
from mergeguard.report.markdown import databases_table, escape_text, findings_table, hint_lines
from mergeguard.report.text import diagnostics_text

SCHEMA = "mergeguard/status/1"
STATES = ("up-to-date", "behind", "stranded", "empty", "unreachable")

# -- JSON -----------------------------------------------------------------------------


def database_dict(status: DatabaseStatus) -> dict[str, object]:
    """One database of ``mergeguard/status/1``.  ``current`` is empty when
    there is no version table (``empty``) or it could not be read; ``error``
    (an extra key) says why an ``unreachable`` one could not be read."""
    reading = status.reading
    return {
        "name": reading.name,
        "url": reading.url,
        "environment": reading.environment,
        "current": list(reading.current or ()),
        "state": status.state,
        "pending": list(status.pending),
        "refs": list(status.refs),
        "error": reading.error,
    }


def status_document(report: StatusReport) -> str:
    """``mergeguard/status/1``: the databases in configuration order, the
    findings in check's shape, the counts of findings and of states."""
    counts = {state: 0 for state in STATES}
    for status in report.databases:
        counts[status.state] += 1
    document = {
        "schema": SCHEMA,
        "target": report.target,
        "databases": [database_dict(status) for status in report.databases],
        "findings": [diagnostic_dict(d) for d in report.diagnostics],
        "summary": {**summary(report.diagnostics), "databases": len(report.databases), **counts},
    }
    return json.dumps(document, indent=2)


# -- text -----------------------------------------------------------------------------


TEXT_REVISIONS = 30  # ids listed on a text line (JSON lists them all)


def _revisions(revisions: Sequence[str]) -> str:
    shown = ", ".join(printable(r) for r in revisions[:TEXT_REVISIONS]) or "none"
    more = len(revisions) - TEXT_REVISIONS
    return f"{shown} and {more:,} more" if more > 0 else shown


def database_lines(status: DatabaseStatus) -> list[str]:
    """A database as text: name, state, masked URL, then what the state means."""
    reading = status.reading
    lines = [
        f"{printable(reading.name)}: {status.state}  "
        f"{printable(reading.url)} (environment {printable(reading.environment)})"
    ]
    if status.state == "unreachable":
        return [*lines, f"  error: {printable(reading.error or '')}"]
    if reading.note is not None:
        lines.append(f"  {printable(reading.note)}")
    elif reading.current is None:
        lines.append(f"  no version table {printable(_table(status))}")
    else:
        lines.append(f"  current: {_revisions(reading.current)}")
    if status.state == "stranded":
        held = ", ".join(printable(ref) for ref in status.refs) or "no branch found"
        lines.append(f"  not in this history: {_revisions(status.stranded)} (on: {held})")
    elif status.pending:
        count = len(status.pending)
        lines.append(f"  pending ({count}, in upgrade order): {_revisions(status.pending)}")
    return lines


def _table(status: DatabaseStatus) -> str:
    reading = status.reading
    schema = reading.version_table_schema
    return f"{schema}.{reading.version_table}" if schema else reading.version_table


def status_text(report: StatusReport) -> str:
    """Every database, a blank line between them, then the findings."""
    blocks = ["\n".join(database_lines(status)) for status in report.databases]
    text = "\n\n".join(blocks) + ("\n" if blocks else "")
    if report.diagnostics:
        text += "\n" + diagnostics_text(report.diagnostics)
    return text


def status_summary(report: StatusReport) -> str:
    """The stderr line: the states counted, then the findings."""
    counts = {state: 0 for state in STATES}
    for status in report.databases:
        counts[status.state] += 1
    states = ", ".join(f"{n} {state}" for state, n in counts.items() if n) or "no database"
    errors, warnings = report.counts.errors, report.counts.warnings
    return f"mergeguard: {states}; {errors} error(s), {warnings} warning(s)\n"


# -- Markdown -------------------------------------------------------------------------


def status_markdown(report: StatusReport) -> str:
    """The whole Markdown document, ending in a newline."""
    stranded = sum(1 for status in report.databases if status.state == "stranded")
    verdict = f"{stranded} stranded" if stranded else "no stranded database"
    lines = [
        f"### mergeguard status: {verdict}",
        "",
        f"Databases judged against {escape_text(report.target)}.",
        "",
        *databases_table(report.databases),
    ]
    if report.diagnostics:
        lines += ["", *findings_table(report.diagnostics)]
        hints = hint_lines(report.diagnostics)
        if hints:
            lines += ["", *hints]
    return "\n".join(lines) + "\n"


def render_status(fmt: str, report: StatusReport) -> str:
    if fmt == "json":
        return status_document(report) + "\n"
    if fmt == "markdown":
        return status_markdown(report)
    return status_text(report)
