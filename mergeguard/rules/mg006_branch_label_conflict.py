"""MG006 branch-label-conflict: its documentation (the reader and the graph report it)."""

from __future__ import annotations

from mergeguard import codes
from mergeguard.rules.example_kit import A1, Example, Rev
from mergeguard.rules.rule import Rule

CODE = codes.MG006

RULE = Rule(
    CODE,
    what=(
        "A branch label declared by two revisions, or equal to a revision id (labels and "
        "ids share one namespace)."
    ),
    why='Alembic refuses the history ("Branch name ... already used by revision ...").',
    fix="Keep the label on the first revision of its branch only, or rename it.",
    examples=(
        Example(
            "a branch label used twice",
            (A1, Rev("b2", "a1", labels=("billing",))),
            ours=(Rev("c3", "b2", labels=("billing",)),),
            expect=("MG006",),
        ),
        Example(
            "the label only on the branch's first revision",
            (A1, Rev("b2", "a1", labels=("billing",))),
            ours=(Rev("c3", "b2"),),
        ),
    ),
)
