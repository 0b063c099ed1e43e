"""MG003 duplicate-revision-id: its documentation (the reader and the graph report it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mergeguard import codes
from mergeguard.rules.rule import Rule

if TYPE_CHECKING:
    from mergeguard.rules.example_kit import Example

CODE = codes.MG003


def _examples() -> tuple[Example, ...]:
    """Built when the docs or the tests ask (a check never reads them)."""
    from mergeguard.rules.example_kit import LINE, Example, Rev

    return (
        Example(
            "a new file reuses an existing id",
            LINE,
            ours=(Rev("b2", "a1", file="x_copy.py"),),
            expect=("MG003",),
        ),
        Example("a fresh id", LINE, ours=(Rev("c3", "b2"),)),
    )


RULE = Rule(
    CODE,
    what=(
        "Two files declare the same `revision` id.  Two files of one merge revision that "
        "the two sides of a merge wrote (the same id joining the same heads) are left to "
        "MG106, which names the copy to delete."
    ),
    why=(
        "Alembic keeps only one of them (the later file it loads) and warns; the other "
        "migration silently never runs."
    ),
    fix=(
        "Give one file a new id (`alembic revision` makes one) and re-point the revisions "
        "that follow it; or delete the copy."
    ),
    build_examples=_examples,
)
