"""MG002 dynamic-header: its documentation (the reader and the graph report it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mergeguard import codes
from mergeguard.rules.rule import Rule

if TYPE_CHECKING:
    from mergeguard.rules.example_kit import Example

CODE = codes.MG002


def _examples() -> tuple[Example, ...]:
    """Built when the docs or the tests ask (a check never reads them)."""
    from mergeguard.rules.example_kit import LINE, Example, Rev

    return (
        Example(
            "down_revision computed by a call",
            LINE,
            ours=(
                Rev("c3", text="revision = 'c3'\ndown_revision = get_down_revision(revision)\n"),
            ),
            expect=("MG002",),
        ),
        Example("literal values", LINE, ours=(Rev("c3", "b2"),)),
    )


RULE = Rule(
    CODE,
    what=(
        "A header variable (`revision`, `down_revision`, `branch_labels`, `depends_on`) "
        "whose value is not a literal mergeguard can read without running the file: a call "
        "(`get_down_revision(revision)`), an f-string, a name bound by code."
    ),
    why=(
        "mergeguard never imports migrations (they are untrusted input in a pull request), "
        "so a computed value leaves the revision graph unknown."
    ),
    fix=(
        "Write the value as a string or tuple literal.  Names imported from a module of "
        "the same repository are read statically; for anything else declare the value under "
        "`[tool.mergeguard.constants]` in pyproject.toml."
    ),
    build_examples=_examples,
)
