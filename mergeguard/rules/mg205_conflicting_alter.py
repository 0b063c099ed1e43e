"""MG205 conflicting-alter: its documentation, examples and check."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from mergeguard.codes import Code
from mergeguard.graph.scenario import MergeScenario
from mergeguard.model import Diagnostic, Operation
from mergeguard.rules.rule import Rule
from mergeguard.rules.schema_effects import show
from mergeguard.rules.schema_pairs import (
    Found,
    Pair,
    schema_findings,
)

if TYPE_CHECKING:
    from mergeguard.rules.example_kit import Example

CODE = Code(
    "MG205",
    "conflicting-alter",
    "error",
    "both branches alter or rename the same column",
)
HINT = "decide on one alteration and keep it in one branch only"


RENAME = "op.alter_column('users', 'name', new_column_name='{new}')"
ALTER_NAME = "op.alter_column('users', 'name', type_={type}, nullable=False)"


def conflicting_alter(pair: Pair) -> Iterator[Found]:
    """Both branches alter one column to different states (or rename it)."""
    a, b, skip = pair.a, pair.b, pair.skip
    for key in a.alters.keys() & b.alters.keys():
        mine, theirs = a.alters[key], b.alters[key]
        first, second = mine.first, theirs.first
        if not mine.conflicts_with(theirs) or first.revision in skip or second.revision in skip:
            continue
        message = (
            f"both {pair.one.label} and {pair.other.label} alter column {show(key)}: "
            f"{first.where} ({_describe(first.op)}) and {second.where} "
            f"({_describe(second.op)}); the second one fails or silently wins"
        )
        revisions = (first.revision, second.revision)
        yield Found(show(key), message, revisions, first.location, second.location)


def _describe(op: Operation) -> str:
    return ", ".join(f"{k}={v}" for k, v in op.detail) or "no details"


def check(scenario: MergeScenario, env: str) -> Iterator[Diagnostic]:
    """MG205 for every pair of branches."""
    return schema_findings(scenario, env, CODE, HINT, conflicting_alter)


def _examples() -> tuple[Example, ...]:
    """Built when the docs or the tests ask (a check never reads them)."""
    from mergeguard.rules.example_kit import LINE, Example, Rev

    return (
        Example(
            "both branches rename users.name",
            LINE,
            theirs=(Rev("c3", "b2", upgrade=RENAME.format(new="full_name")),),
            ours=(Rev("d4", "b2", upgrade=RENAME.format(new="display_name")),),
            expect=("MG102", "MG205"),
        ),
        Example(
            "the same final state, spelled two ways",
            LINE,
            theirs=(Rev("c3", "b2", upgrade=ALTER_NAME.format(type="sa.String(length=100)")),),
            ours=(Rev("d4", "b2", upgrade=ALTER_NAME.format(type="sa.VARCHAR(100)")),),
            expect=("MG102",),
        ),
        Example(
            "alterations of different columns",
            LINE,
            theirs=(Rev("c3", "b2", upgrade=RENAME.format(new="full_name")),),
            ours=(Rev("d4", "b2", upgrade="op.alter_column('users', 'id', nullable=False)"),),
            expect=("MG102",),
        ),
    )


RULE = Rule(
    CODE,
    what=(
        "Both sides alter the same column to different states (a setting both give, with "
        "different values; types compared as spelled the same, `sa.VARCHAR(100)` = "
        "`sa.String(length=100)`), or one side renames a column the other alters.  "
        "Alterations that set the same state, or settings that do not touch each other, "
        "are not conflicts."
    ),
    why="The second alteration fails or silently wins.",
    fix="Decide on one change and keep it in one branch.",
    build_examples=_examples,
    check=check,
)
