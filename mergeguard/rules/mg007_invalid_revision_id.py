"""MG007 invalid-revision-id: its documentation (the reader and the graph report it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mergeguard import codes
from mergeguard.rules.rule import Rule

if TYPE_CHECKING:
    from mergeguard.rules.example_kit import Example

CODE = codes.MG007


def _examples() -> tuple[Example, ...]:
    """Built when the docs or the tests ask (a check never reads them)."""
    from mergeguard.rules.example_kit import LINE, Example, Rev

    return (
        Example("a '-' in a revision id", LINE, ours=(Rev("c3-hotfix", "b2"),), expect=("MG007",)),
        Example("letters, digits and underscores", LINE, ours=(Rev("c3_hotfix", "b2"),)),
    )


RULE = Rule(
    CODE,
    what=(
        "A revision id Alembic rejects: characters `@ - + :`, an empty id, a non-string "
        "value; or `down_revision = ''`, which mergeguard reads as a base (warning)."
    ),
    why=(
        'Alembic raises "Character(s) not allowed in revision identifier"; those '
        "characters have meanings in `alembic upgrade label@head+1`."
    ),
    fix=(
        "Use letters, digits and underscores (`alembic revision` makes 12 hex digits); "
        "write `down_revision = None` for a base."
    ),
    build_examples=_examples,
)
