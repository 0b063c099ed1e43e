"""MG005 revision-cycle: its documentation (the reader and the graph report it)."""

from __future__ import annotations

from mergeguard import codes
from mergeguard.rules.example_kit import LINE, Example, Rev
from mergeguard.rules.rule import Rule

CODE = codes.MG005

RULE = Rule(
    CODE,
    what=(
        "A cycle through `down_revision` or `depends_on` (including a revision that names itself)."
    ),
    why='Alembic refuses the history ("Cycle is detected in revisions").',
    fix="Point one revision of the cycle at a revision outside it.",
    examples=(
        Example(
            "two new revisions point at each other",
            LINE,
            ours=(Rev("c3", "d4"), Rev("d4", "c3")),
            expect=("MG005",),
        ),
        Example("a chain", LINE, ours=(Rev("c3", "b2"), Rev("d4", "c3"))),
    ),
)
