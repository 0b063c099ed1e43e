"""MG104 new-unlabeled-base: its documentation, examples and check."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from mergeguard.codes import Code, diagnostic
from mergeguard.graph.revisions import location_of
from mergeguard.graph.scenario import MergeScenario, added_revisions
from mergeguard.model import Diagnostic
from mergeguard.rules.rule import Rule

if TYPE_CHECKING:
    from mergeguard.rules.example_kit import Example

CODE = Code(
    "MG104",
    "new-unlabeled-base",
    "error",
    "the range adds a root (down_revision = None) without a branch label",
)


def new_unlabeled_base(scenario: MergeScenario, env: str) -> Iterator[Diagnostic]:
    """MG104: the range adds a second root without a branch label."""
    if not scenario.base.scripts(env):
        return  # the first migration of a project is a base, rightly
    side = scenario.checked
    for revision, script in added_revisions(scenario.base, side, env).items():
        if script.down_revisions or script.branch_labels or not script.complete:
            continue
        yield diagnostic(
            CODE,
            f"{script.path} adds revision {revision} with down_revision = None and no branch "
            "label: a second unlabelled root, so `alembic upgrade head` sees two heads",
            location_of(script),
            hint="point down_revision at the current head (`mergeguard heads`), or give this "
            "independent line a branch_labels = ('name',)",
            revisions=(revision,),
            environment=env,
        )


def _examples() -> tuple[Example, ...]:
    """Built when the docs or the tests ask (a check never reads them)."""
    from mergeguard.rules.example_kit import LINE, Example, Rev

    return (
        Example(
            "a new root without a label", LINE, ours=(Rev("x1", None),), expect=("MG101", "MG104")
        ),
        Example("a new root with a label", LINE, ours=(Rev("x1", None, labels=("audit",)),)),
    )


RULE = Rule(
    CODE,
    what=(
        "The range adds a root (`down_revision = None`) without a branch label to an "
        "environment that already had revisions."
    ),
    why="A second unlabelled root is a second unlabelled head: `alembic upgrade head` fails.",
    fix=(
        "Point `down_revision` at the current head, or label the new independent line "
        "(`branch_labels = ('name',)`)."
    ),
    build_examples=_examples,
    check=new_unlabeled_base,
)
