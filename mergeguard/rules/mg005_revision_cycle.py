"""MG005 revision-cycle: its documentation (the reader and the graph report it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mergeguard import codes
from mergeguard.rules.rule import Rule

if TYPE_CHECKING:
    from mergeguard.rules.example_kit import Example

CODE = codes.MG005


def _examples() -> tuple[Example, ...]:
    """Built when the docs or the tests ask (a check never reads them)."""
    from mergeguard.rules.example_kit import LINE, Example, Rev

    return (
        Example(
            "two new revisions point at each other",
            LINE,
            ours=(Rev("c3", "d4"), Rev("d4", "c3")),
            expect=("MG005",),
        ),
        Example("a chain", LINE, ours=(Rev("c3", "b2"), Rev("d4", "c3"))),
    )


RULE = Rule(
    CODE,
    what=(
        "A cycle through `down_revision` or `depends_on` (including a revision that names itself)."
    ),
    why='Alembic refuses the history ("Cycle is detected in revisions").',
    fix="Point one revision of the cycle at a revision outside it.",
    build_examples=_examples,
)
