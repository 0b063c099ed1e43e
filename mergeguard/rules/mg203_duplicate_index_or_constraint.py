"""MG203 duplicate-index-or-constraint: its documentation, examples and check."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from mergeguard.codes import Code
from mergeguard.graph.scenario import MergeScenario
from mergeguard.model import Diagnostic
from mergeguard.rules.rule import Rule
from mergeguard.rules.schema_effects import Key, column_key, same_namespace
from mergeguard.rules.schema_pairs import (
    Found,
    Pair,
    duplicate,
    duplicated_columns,
    schema_findings,
)
from mergeguard.rules.schema_sides import Change

if TYPE_CHECKING:
    from mergeguard.rules.example_kit import Example

CODE = Code(
    "MG203",
    "duplicate-index-or-constraint",
    "error",
    "sibling branches both create an index or constraint with the same name",
)
HINT = "rename one of them, or keep it in one branch only"
FAILS = 'fails with "already exists"'


def duplicated_name(pair: Pair) -> Iterator[Found]:
    """Names both branches create in one namespace (not an index on a column
    both add: that column's MG201 says it)."""
    a, b = pair.a, pair.b
    columns = duplicated_columns(a, b)
    for key in a.named.keys() & b.named.keys():
        found = [(x, y) for x in a.named[key] for y in b.named[key] if same_namespace(x.op, y.op)]
        if found and not on_duplicated_columns(*found[0], columns):
            yield from duplicate(pair, "index, constraint or type", key, *found[0], FAILS)


def on_duplicated_columns(
    first: Change, second: Change, columns: dict[Key, tuple[str, str]]
) -> bool:
    """An index both branches put on a column both add (``index=True`` on the
    same new column) follows from that MG201: one finding, not two."""
    if not first.op.columns or first.op.kind != "create_index":
        return False
    pair = (first.revision, second.revision)
    return all(columns.get(column_key(first.op, c)) == pair for c in first.op.columns)


def check(scenario: MergeScenario, env: str) -> Iterator[Diagnostic]:
    """MG203 for every pair of branches, and for ours on the history it follows."""
    return schema_findings(scenario, env, CODE, HINT, duplicated_name, history=True)


def _examples() -> tuple[Example, ...]:
    """Built when the docs or the tests ask (a check never reads them)."""
    from mergeguard.rules.example_kit import INDEX_NAME, LINE, Example, Rev

    return (
        Example(
            "both branches create index ix_users_name",
            LINE,
            theirs=(Rev("c3", "b2", upgrade=INDEX_NAME),),
            ours=(Rev("d4", "b2", upgrade=INDEX_NAME.replace("['name']", "['name', 'id']")),),
            expect=("MG102", "MG203"),
        ),
        Example(
            "different index names",
            LINE,
            theirs=(Rev("c3", "b2", upgrade=INDEX_NAME),),
            ours=(Rev("d4", "b2", upgrade=INDEX_NAME.replace("ix_users_name", "ix_name")),),
            expect=("MG102",),
        ),
    )


RULE = Rule(
    CODE,
    what=(
        "Both sides of the merge create an index, unique or primary-key constraint or named "
        "type with the same name in one schema, or a foreign-key or check constraint with "
        "the same name on the same table.  An object a side drops and creates again "
        "existed before: recreating it is not a duplicate.  An index both sides put on a "
        "column both add (`index=True`) is part of that column's MG201."
    ),
    why='Whichever side runs second fails with "already exists".',
    fix="Keep it on one side, or rename one of them.",
    build_examples=_examples,
    check=check,
)
