"""MG105 revision-id-collision: its documentation, examples and check."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from mergeguard.codes import Code, diagnostic
from mergeguard.graph.revisions import location_of
from mergeguard.graph.scenario import MergeScenario, added_revisions
from mergeguard.model import Diagnostic
from mergeguard.rules.mg106_redundant_merge import is_twin_file
from mergeguard.rules.rule import Rule

if TYPE_CHECKING:
    from mergeguard.rules.example_kit import Example

CODE = Code(
    "MG105",
    "revision-id-collision",
    "error",
    "both sides add the same revision id with different content",
)


def revision_id_collision(scenario: MergeScenario, env: str) -> Iterator[Diagnostic]:
    """MG105: both sides add the same revision id with different content."""
    theirs = added_revisions(scenario.base, scenario.theirs, env)
    ours = added_revisions(scenario.base, scenario.ours, env)
    for revision in sorted(theirs.keys() & ours.keys()):
        mine, other = ours[revision], theirs[revision]
        if mine.blob == other.blob:
            continue  # the same migration on both sides (a cherry-pick)
        if is_twin_file(mine, other):
            continue  # one merge of the same heads written twice: MG106 names the copy
        yield diagnostic(
            CODE,
            f"revision id {revision} is added by both {scenario.ours.label} ({mine.path}) and "
            f"{scenario.theirs.label} ({other.path}) with different content",
            location_of(mine),
            hint=f"give the revision in {mine.path} a new id (`alembic revision` makes one) "
            "and re-point what follows it",
            revisions=(revision,),
            environment=env,
        )


def _examples() -> tuple[Example, ...]:
    """Built when the docs or the tests ask (a check never reads them)."""
    from mergeguard.rules.example_kit import LINE, Example, Rev

    return (
        Example(
            "both sides add revision c3 with different content",
            LINE,
            theirs=(Rev("c3", "b2", file="c3_add_phone.py", message="add phone"),),
            ours=(Rev("c3", "b2", file="c3_add_email.py", message="add email"),),
            expect=("MG105",),
        ),
        Example(
            "the same migration on both sides (a cherry-pick)",
            LINE,
            theirs=(Rev("c3", "b2"),),
            ours=(Rev("c3", "b2"),),
        ),
    )


RULE = Rule(
    CODE,
    what=(
        'Both sides add the same revision id with different content (two "003" files). '
        "The sides are the branch the work merges into and the checked side; the branch's "
        "own remote copy is not a side, so a rebased revision is no collision.  Two "
        "files of one merge revision (the same id joining the same heads under two names, "
        "as `fix --merge` writes with two messages) are no collision either: MG106 names "
        "the copy to delete."
    ),
    why=(
        "After the merge Alembic keeps one file and drops the other (MG003), so one "
        "branch's migration never runs."
    ),
    fix="Give one of them a new id and re-point what follows it.",
    build_examples=_examples,
    check=revision_id_collision,
)
