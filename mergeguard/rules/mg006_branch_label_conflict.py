"""MG006 branch-label-conflict: its documentation (the reader and the graph report it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mergeguard import codes
from mergeguard.rules.rule import Rule

if TYPE_CHECKING:
    from mergeguard.rules.example_kit import Example

CODE = codes.MG006


def _examples() -> tuple[Example, ...]:
    """Built when the docs or the tests ask (a check never reads them)."""
    from mergeguard.rules.example_kit import A1, Example, Rev

    return (
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
    )


RULE = Rule(
    CODE,
    what=(
        "A branch label declared by two revisions, or equal to a revision id (labels and "
        "ids share one namespace)."
    ),
    why='Alembic refuses the history ("Branch name ... already used by revision ...").',
    fix="Keep the label on the first revision of its branch only, or rename it.",
    build_examples=_examples,
)
