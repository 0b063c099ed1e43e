"""MG201 duplicate-column: its documentation, examples and check."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from mergeguard.codes import Code
from mergeguard.graph.scenario import MergeScenario
from mergeguard.model import Diagnostic
from mergeguard.rules.rule import Rule
from mergeguard.rules.schema_pairs import (
    Found,
    Pair,
    duplicate,
    duplicated_columns,
    schema_findings,
)

if TYPE_CHECKING:
    from mergeguard.rules.example_kit import Example

CODE = Code(
    "MG201",
    "duplicate-column",
    "error",
    "sibling branches both add the same column",
)
HINT = (
    "keep the column in one branch only, or move it into the merge revision "
    "(as Alembic's branching docs advise)"
)
FAILS = 'fails with "duplicate column"'


ADD_ORG_EMAIL = (
    "op.create_table('orgs', sa.Column('id', sa.Integer(), primary_key=True))\n"
    "op.add_column('orgs', sa.Column('email', sa.String(255)))"
)


def duplicated_column(pair: Pair) -> Iterator[Found]:
    """Columns both branches add (when the table is not itself the duplicate)."""
    a, b = pair.a, pair.b
    for key in duplicated_columns(a, b):
        yield from duplicate(pair, "column", key, a.columns[key], b.columns[key], FAILS)


def check(scenario: MergeScenario, env: str) -> Iterator[Diagnostic]:
    """MG201 for every pair of branches, and for ours on the history it follows."""
    return schema_findings(scenario, env, CODE, HINT, duplicated_column, history=True)


def _examples() -> tuple[Example, ...]:
    """Built when the docs or the tests ask (a check never reads them)."""
    from mergeguard.rules.example_kit import ADD_EMAIL, LINE, Example, Rev

    return (
        Example(
            "both branches add users.email",
            LINE,
            theirs=(Rev("c3", "b2", upgrade=ADD_EMAIL),),
            ours=(Rev("d4", "b2", upgrade=ADD_EMAIL),),
            expect=("MG102", "MG201"),
        ),
        Example(
            "the same column name on different tables",
            LINE,
            theirs=(Rev("c3", "b2", upgrade=ADD_EMAIL),),
            ours=(Rev("d4", "b2", upgrade=ADD_ORG_EMAIL),),
            expect=("MG102",),
        ),
    )


RULE = Rule(
    CODE,
    what=(
        "Both sides of the merge add the same column: the two sides of the git range (what "
        "each added since the merge base), or sibling branches within one side.  The sides "
        "are those of git, not of Alembic's graph: re-pointing one side's revision onto the "
        "other's (a rebase) makes them linear, but both still add the column; after `git "
        "rebase` onto the target, what the branch adds is compared with the recent history "
        "it now follows.  A revision "
        "both sides have under one id (a cherry-pick, a squash merge) is not added twice.  "
        "The same migration committed on both sides under two ids is reported once, as a "
        "twin, when the two revisions' readable operations are equal (and none is opaque) "
        "or their normalised `upgrade()` code is identical; revisions that only do what "
        "cannot be read statically (helper calls, `conn.execute(...)`, loops) are never "
        "twins."
    ),
    why='Whichever side runs second fails with "duplicate column".',
    fix="Keep the column on one side, or move it into the merge revision.",
    build_examples=_examples,
    check=check,
)
