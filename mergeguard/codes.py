"""The facts of a finding's code (code, name, severity, summary) and the one way
to make a finding: ``diagnostic``.

This is the ground: the reader (``parse/``) and the revision graph make
diagnostics with it without importing ``rules/``.  The codes the core itself
reports (MG001-MG007 from the reader and the graph, MG008 from the docstring
check) are declared here; every other rule declares its ``Code`` in its own
unit (``mergeguard/rules/mgNNN_*.py``).  Codes are contract: never renumber.
"""

from __future__ import annotations

from mergeguard.model import Diagnostic, Location, Severity, frozen


@frozen
class Code:
    """A code's facts: ``summary`` is one line (``mergeguard rules``)."""

    code: str
    name: str
    severity: Severity
    summary: str


# What one finding may quote from the repository.
MAX_MESSAGE_CHARS = 2_000


def shorten(text: str, limit: int) -> str:
    """``text``, or its start and end around a count of what was left out."""
    if len(text) <= limit:
        return text
    keep = limit // 2
    omitted = len(text) - 2 * keep
    return f"{text[:keep]}... [{omitted:,} characters omitted] ...{text[len(text) - keep :]}"


def diagnostic(
    code: Code,
    message: str,
    location: Location | None = None,
    *,
    hint: str | None = None,
    revisions: tuple[str, ...] = (),
    severity: Severity | None = None,
    environment: str = "",
    related: tuple[Location, ...] = (),
) -> Diagnostic:
    """A Diagnostic for ``code`` (its name and default severity filled in).

    Message and hint are capped (see ``shorten``): they quote values from the
    repository, and one 1 MB revision id named by 2,000 findings would
    otherwise print gigabytes."""
    return Diagnostic(
        code=code.code,
        name=code.name,
        severity=severity or code.severity,
        message=shorten(message, MAX_MESSAGE_CHARS),
        location=location,
        hint=None if hint is None else shorten(hint, MAX_MESSAGE_CHARS),
        revisions=revisions,  # ids are matched against the graph: never cut
        environment=environment,
        related=related,
    )


MG001 = Code(
    "MG001",
    "unparsable-migration",
    "error",
    "syntax error, undecodable bytes, or a file in a versions directory that is not a migration",
)
MG002 = Code(
    "MG002",
    "dynamic-header",
    "error",
    "revision / down_revision / branch_labels / depends_on is not a literal",
)
MG003 = Code("MG003", "duplicate-revision-id", "error", "two files declare the same revision")
MG004 = Code("MG004", "missing-parent", "error", "down_revision or depends_on names nothing")
MG005 = Code("MG005", "revision-cycle", "error", "a cycle through down_revision or depends_on")
MG006 = Code(
    "MG006",
    "branch-label-conflict",
    "error",
    "a branch label used twice, or equal to a revision id",
)
MG007 = Code("MG007", "invalid-revision-id", "error", "a revision id Alembic rejects")
MG008 = Code(
    "MG008",
    "docstring-drift",
    "warning",
    "`Revision ID:` / `Revises:` disagree with the variables",
)
