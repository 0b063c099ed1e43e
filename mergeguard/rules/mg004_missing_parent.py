"""MG004 missing-parent: its documentation (the reader and the graph report it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mergeguard import codes
from mergeguard.rules.rule import Rule

if TYPE_CHECKING:
    from mergeguard.rules.example_kit import Example

CODE = codes.MG004


def _examples() -> tuple[Example, ...]:
    """Built when the docs or the tests ask (a check never reads them)."""
    from mergeguard.rules.example_kit import LINE, Example, Rev

    return (
        Example("a typo in down_revision", LINE, ours=(Rev("c3", "b3"),), expect=("MG004",)),
        Example("the parent exists", LINE, ours=(Rev("c3", "b2"),)),
    )


RULE = Rule(
    CODE,
    what=(
        "A `down_revision` or `depends_on` names a revision (or branch label) that no file "
        "declares: a typo, a file name written instead of the id, a partial id, or a parent "
        "deleted by the range."
    ),
    why='Alembic stops with a KeyError/"not present" error before doing anything.',
    fix=(
        "Point at the existing id; the hint names the closest one (never the revision "
        "itself), or the id declared in the file whose name was used.  When the parent "
        "exists only on the branch the work merges into (after `fix --rebase` or `fix "
        "--merge` on a branch that has not caught up), it is a warning: merge or rebase "
        "onto that branch before deploying this one alone."
    ),
    build_examples=_examples,
)
