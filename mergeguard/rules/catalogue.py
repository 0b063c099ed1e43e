"""The rule catalogue: every code mergeguard can report (codes are contract).

Each rule has a code, a kebab-case name, a default severity and a one-line
summary.  ``diagnostic`` is the one way the rest of mergeguard makes a
finding, so a code can never be reported under the wrong name.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from mergeguard.model import Diagnostic, Location, Severity
from mergeguard.rules.texts import TEXTS


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule: ``summary`` is one line; ``what``, ``why`` and ``fix`` are the
    sections of its documentation (``mergeguard explain CODE``, docs/rules.md)."""

    code: str
    name: str
    severity: Severity
    summary: str
    what: str = ""
    why: str = ""
    fix: str = ""


RULES: tuple[Rule, ...] = (
    Rule(
        "MG001",
        "unparsable-migration",
        "error",
        "syntax error, undecodable bytes, or a file in a versions directory "
        "that is not a migration",
    ),
    Rule(
        "MG002",
        "dynamic-header",
        "error",
        "revision / down_revision / branch_labels / depends_on is not a literal",
    ),
    Rule("MG003", "duplicate-revision-id", "error", "two files declare the same revision"),
    Rule("MG004", "missing-parent", "error", "down_revision or depends_on names nothing"),
    Rule("MG005", "revision-cycle", "error", "a cycle through down_revision or depends_on"),
    Rule(
        "MG006",
        "branch-label-conflict",
        "error",
        "a branch label used twice, or equal to a revision id",
    ),
    Rule("MG007", "invalid-revision-id", "error", "a revision id Alembic rejects"),
    Rule(
        "MG008",
        "docstring-drift",
        "warning",
        "`Revision ID:` / `Revises:` disagree with the variables",
    ),
    Rule(
        "MG101",
        "new-multiple-heads",
        "error",
        "the checked side has more conflicting heads than its base had",
    ),
    Rule(
        "MG102",
        "missing-merge-point",
        "error",
        "both sides added revisions on diverging heads: the merge will leave several heads",
    ),
    Rule(
        "MG103",
        "published-revision-changed",
        "error",
        "a revision on the base side was re-pointed, renamed or deleted",
    ),
    Rule(
        "MG104",
        "new-unlabeled-base",
        "error",
        "the range adds a root (down_revision = None) without a branch label",
    ),
    Rule(
        "MG105",
        "revision-id-collision",
        "error",
        "both sides add the same revision id with different content",
    ),
    Rule(
        "MG106",
        "redundant-merge",
        "warning",
        "two merge revisions join the same heads, or a merge joins revisions already joined",
    ),
    Rule("MG201", "duplicate-column", "error", "sibling branches both add the same column"),
    Rule("MG202", "duplicate-table", "error", "sibling branches both create the same table"),
    Rule(
        "MG203",
        "duplicate-index-or-constraint",
        "error",
        "sibling branches both create an index or constraint with the same name",
    ),
    Rule(
        "MG204",
        "drop-vs-change",
        "error",
        "one branch drops a table or column that the other adds to, alters, renames or indexes",
    ),
    Rule("MG205", "conflicting-alter", "error", "both branches alter or rename the same column"),
    Rule(
        "MG301",
        "upgrade-fails",
        "error",
        "a branch alone, or the merged head, fails to upgrade on the scratch database",
    ),
    Rule(
        "MG302",
        "order-dependent-branches",
        "error",
        "sibling branches applied in different orders fail or give different schemas",
    ),
    Rule("MG303", "downgrade-fails", "error", "the way back down fails"),
    Rule(
        "MG304",
        "roundtrip-drift",
        "error",
        "downgrade then upgrade does not give back the same schema",
    ),
)

RULES = tuple(
    replace(rule, what=TEXTS[rule.code][0], why=TEXTS[rule.code][1], fix=TEXTS[rule.code][2])
    for rule in RULES
)
BY_CODE: dict[str, Rule] = {rule.code: rule for rule in RULES}


def find_rule(selector: str) -> Rule | None:
    """The rule named by a code (any case) or a kebab-case name."""
    wanted = selector.strip()
    return BY_CODE.get(wanted.upper()) or next((r for r in RULES if r.name == wanted), None)


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
    code: str,
    message: str,
    location: Location | None = None,
    *,
    hint: str | None = None,
    revisions: tuple[str, ...] = (),
    severity: Severity | None = None,
    environment: str = "",
    related: tuple[Location, ...] = (),
) -> Diagnostic:
    """A Diagnostic for rule ``code`` (its name and default severity filled in).

    Message and hint are capped (see ``shorten``): they quote values from the
    repository, and one 1 MB revision id named by 2,000 findings would
    otherwise print gigabytes."""
    rule = BY_CODE[code]
    return Diagnostic(
        code=code,
        name=rule.name,
        severity=severity or rule.severity,
        message=shorten(message, MAX_MESSAGE_CHARS),
        location=location,
        hint=None if hint is None else shorten(hint, MAX_MESSAGE_CHARS),
        revisions=revisions,  # ids are matched against the graph: never cut
        environment=environment,
        related=related,
    )
