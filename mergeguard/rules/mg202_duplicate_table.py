"""MG202 duplicate-table: its documentation, examples and check."""

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
    schema_findings,
)

if TYPE_CHECKING:
    from mergeguard.rules.example_kit import Example

CODE = Code(
    "MG202",
    "duplicate-table",
    "error",
    "sibling branches both create the same table",
)
HINT = "keep the table in one branch only, or move it into the merge revision"
FAILS = 'fails with "table already exists"'


CREATE_AUDIT = "op.create_table('audit_log', sa.Column('id', sa.Integer(), primary_key=True))"


def duplicated_table(pair: Pair) -> Iterator[Found]:
    """Tables both branches create."""
    a, b = pair.a, pair.b
    for key in a.tables.keys() & b.tables.keys():
        yield from duplicate(pair, "table", key, a.tables[key], b.tables[key], FAILS)


def check(scenario: MergeScenario, env: str) -> Iterator[Diagnostic]:
    """MG202 for every pair of branches, and for ours on the history it follows."""
    return schema_findings(scenario, env, CODE, HINT, duplicated_table, history=True)


def _examples() -> tuple[Example, ...]:
    """Built when the docs or the tests ask (a check never reads them)."""
    from mergeguard.rules.example_kit import LINE, Example, Rev

    return (
        Example(
            "both branches create table audit_log",
            LINE,
            theirs=(Rev("c3", "b2", upgrade=CREATE_AUDIT),),
            ours=(Rev("d4", "b2", upgrade=CREATE_AUDIT.replace("'id'", "'pk'")),),
            expect=("MG102", "MG202"),
        ),
        Example(
            "the same table name in two schemas",
            LINE,
            theirs=(Rev("c3", "b2", upgrade=CREATE_AUDIT),),
            ours=(Rev("d4", "b2", upgrade=CREATE_AUDIT[:-1] + ", schema='archive')"),),
            expect=("MG102",),
        ),
    )


RULE = Rule(
    CODE,
    what=(
        "Both sides of the merge (the two sides of the range, or sibling branches within "
        "one side) create the same table, in the same schema."
    ),
    why=(
        'Whichever side runs second fails with "table already exists"; a rebase does not '
        "change that."
    ),
    fix="Keep the table on one side, or move it into the merge revision.",
    build_examples=_examples,
    check=check,
)
